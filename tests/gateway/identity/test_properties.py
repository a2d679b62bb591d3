from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from gateway.identity.crypto import SecretBox
from gateway.identity.rows import decode_cursor, encode_cursor
from gateway.identity.usage import UsageBatch

BOX = SecretBox(os.urandom(32))


@given(st.text(), st.binary(max_size=64))
def test_secretbox_round_trips_any_text(plaintext: str, aad: bytes) -> None:
    assert BOX.open(BOX.seal(plaintext, aad=aad), aad=aad) == plaintext


@given(st.text(min_size=1))
def test_cursor_round_trips_any_id(key_id: str) -> None:
    assert decode_cursor(encode_cursor(key_id)) == key_id


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.integers(0, 10**15))))
def test_usage_batch_keeps_latest_use_per_key(uses: list[tuple[str, int]]) -> None:
    batch = UsageBatch()
    for key_id, when in uses:
        batch.add(key_id, when)
    expected: dict[str, int] = {}
    for key_id, when in uses:
        expected[key_id] = max(expected.get(key_id, when), when)
    taken = batch.take()
    assert taken == expected
    assert len(batch) == 0
    batch.add("a", 5)
    batch.restore(taken)
    assert batch.take() == {**taken, "a": max(taken.get("a", 5), 5)}
