"""Re-wrapping SSE-S3 data keys under a new key after a master-key rotation
(``backends/filesystem/rewrap``): every stored stream (objects, noncurrent versions,
inline bodies, multipart objects, parts of uploads in progress) opens with the new key
alone afterwards; SSE-C objects are left and reported; a run cut short, even by a torn
header write, is finished by the next."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from backends import BackendError, ObjectMeta
from backends.filesystem import FilesystemBackend
from backends.filesystem import rewrap as rewrap_module
from backends.filesystem.encryption import (
    HEADER,
    MODE_CUSTOMER,
    KeySet,
    Sealer,
    customer_kek,
    rewrap_header,
    sse_key_id,
    unwrapper,
)
from backends.filesystem.rewrap import JOURNAL
from backends.types import Encryption
from tests.backends.test_contract import payload, read_all
from tests.backends.test_filesystem_encryption import customer

OLD, NEW = os.urandom(32), os.urandom(32)
SSE = Encryption(algorithm="AES256")
PART = 64 * 1024


async def opened(root: Path, key: bytes, previous: Sequence[bytes] = ()) -> FilesystemBackend:
    backend = FilesystemBackend(
        root, fsync=False, min_part_size=PART, sse_key=key, sse_previous_keys=previous
    )
    await backend.start()
    return backend


def test_rewrap_header_moves_the_data_key_and_nothing_else() -> None:
    old, both = KeySet(OLD), KeySet(NEW, [OLD])
    sealer = Sealer(old.managed_kek(old.current_id), mode=1, key_id=old.current_id)
    segment = sealer.seal(b"secret bytes", final=True)
    new = rewrap_header(sealer.header, both)
    assert new is not None and len(new) == HEADER
    # key id (bytes 8-16) the new key's, nonce prefix (16-24) kept, a fresh wrap nonce
    assert new[8:16] == sse_key_id(NEW) and new[16:24] == sealer.header[16:24]
    assert new[24:36] != sealer.header[24:36]
    # The new header alone, under the new key alone, opens the unchanged segment.
    assert unwrapper(KeySet(NEW), None)(new).open(0, segment, final=True) == b"secret bytes"
    with pytest.raises(BackendError, match="unknown key"):
        unwrapper(KeySet(OLD), None)(new)
    assert rewrap_header(new, both) is None  # already current
    customer_key = os.urandom(32)
    sse_c = Sealer(customer_kek(customer_key), mode=MODE_CUSTOMER)
    assert rewrap_header(sse_c.header, both) is None
    with pytest.raises(BackendError, match="unknown key"):
        rewrap_header(new, KeySet(os.urandom(32), [OLD]))


@pytest.mark.parametrize("page", [256, 2], ids=["one-page", "pages-of-two"])
async def test_every_stream_opens_under_the_new_key_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: int
) -> None:
    monkeypatch.setattr(rewrap_module, "_BATCH", page)  # pages smaller than the data
    root = tmp_path / "data"
    fs = await opened(root, OLD)
    objects = {"small": os.urandom(3000), "file": os.urandom(200_000)}
    try:
        await fs.create_bucket("bkt")
        for key, data in objects.items():
            await fs.put_object("bkt", key, payload(data), ObjectMeta(), encryption=SSE)
        parts = [os.urandom(PART), os.urandom(PART + 5), os.urandom(7)]
        upload = await fs.create_multipart_upload("bkt", "multi", ObjectMeta(), encryption=SSE)
        etags = [
            (n, (await fs.upload_part("bkt", "multi", upload.upload_id, n, payload(p))).etag)
            for n, p in enumerate(parts, 1)
        ]
        made = await fs.complete_multipart_upload("bkt", "multi", upload.upload_id, etags)
        objects["multi"] = b"".join(parts)
        await fs.create_bucket("hist")
        await fs.put_bucket_versioning("hist", "Enabled")
        first = await fs.put_object(
            "hist", "k", payload(b"v1" * 40_000), ObjectMeta(), encryption=SSE
        )
        await fs.put_object("hist", "k", payload(b"v2"), ObjectMeta(), encryption=SSE)
        pending = await fs.create_multipart_upload("bkt", "later", ObjectMeta(), encryption=SSE)
        later = os.urandom(PART)
        part = await fs.upload_part("bkt", "later", pending.upload_id, 1, payload(later))
        secret_key = customer(os.urandom(32))
        await fs.put_object(
            "bkt",
            "sse-c",
            payload(b"customer"),
            ObjectMeta(),
            encryption=Encryption(customer=secret_key),
        )
    finally:
        await fs.close()

    fs = await opened(root, NEW, [OLD])
    try:
        done = await fs.rewrap_keys()
        # small (inline), file, 3 parts, 2 versions, 1 part in progress
        assert done.streams == 8
        assert done.customer_key_ids == {sse_key_id(OLD).hex()}
        again = await fs.rewrap_keys()
        assert again.streams == 0
    finally:
        await fs.close()

    fs = await opened(root, NEW)  # the old key is gone
    try:
        for key, data in objects.items():
            assert await read_all(await fs.get_object("bkt", key)) == data
        old = await fs.get_object("hist", "k", version_id=first.version_id)
        assert await read_all(old) == b"v1" * 40_000
        # headers rewritten in place, data ids kept: the upload that made "multi" is still
        # the one table completions names, so its completion retried is answered again
        retried = await fs.complete_multipart_upload("bkt", "multi", upload.upload_id, etags)
        assert (retried.etag, retried.version_id) == (made.etag, made.version_id)
        await fs.complete_multipart_upload("bkt", "later", pending.upload_id, [(1, part.etag)])
        assert await read_all(await fs.get_object("bkt", "later")) == later
        with pytest.raises(BackendError, match="unknown key") as caught:
            await fs.get_object("bkt", "sse-c", encryption=Encryption(customer=secret_key))
        assert caught.value.code == "InternalError"
    finally:
        await fs.close()


async def test_a_torn_header_is_rewritten_from_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "data"
    fs = await opened(root, OLD)
    data = {name: os.urandom(100_000) for name in ("a", "b", "c")}
    try:
        await fs.create_bucket("bkt")
        for key, body in data.items():
            await fs.put_object("bkt", key, payload(body), ObjectMeta(), encryption=SSE)
    finally:
        await fs.close()

    real = os.pwrite
    writes: list[int] = []

    def torn(fd: int, header: bytes, offset: int) -> int:
        writes.append(offset)
        if len(writes) == 2:  # power lost in the middle of the second header
            real(fd, header[:40] + os.urandom(HEADER - 40), offset)
            raise OSError("power lost")
        return real(fd, header, offset)

    fs = await opened(root, NEW, [OLD])
    try:
        with monkeypatch.context() as patch:
            patch.setattr(os, "pwrite", torn)
            with pytest.raises(OSError, match="power lost"):
                await fs.rewrap_keys()
    finally:
        await fs.close()
    journal = root / "meta" / JOURNAL
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert len(entries) == 3 and all(base64.b64decode(e["header"]) for e in entries)

    fs = await opened(root, NEW, [OLD])
    try:
        done = await fs.rewrap_keys()
        assert done.streams == 3  # the journal replayed; nothing left to do after it
        assert journal.read_bytes() == b""
    finally:
        await fs.close()
    fs = await opened(root, NEW)
    try:
        for key, body in data.items():
            assert await read_all(await fs.get_object("bkt", key)) == body
    finally:
        await fs.close()


async def test_streams_no_key_opens_are_counted_and_left(tmp_path: Path) -> None:
    """Data under a master key no longer configured, or with a damaged header, was
    unreadable before; the re-wrap counts it and goes on with the rest."""
    root, lost_key = tmp_path / "data", os.urandom(32)
    fs = await opened(root, lost_key)
    try:
        await fs.create_bucket("bkt")
        await fs.put_object(
            "bkt", "lost", payload(os.urandom(100_000)), ObjectMeta(), encryption=SSE
        )
    finally:
        await fs.close()
    fs = await opened(root, OLD)  # the lost key is not configured any more
    kept, damaged = os.urandom(100_000), os.urandom(100_000)
    try:
        await fs.put_object("bkt", "kept", payload(kept), ObjectMeta(), encryption=SSE)
        await fs.put_object("bkt", "damaged", payload(damaged), ObjectMeta(), encryption=SSE)
        broken = fs.files.object_path(fs.find("bkt", "damaged").data_id)
    finally:
        await fs.close()
    with broken.open("r+b") as handle:
        handle.write(b"XXXX")  # the magic
    fs = await opened(root, NEW, [OLD])
    try:
        done = await fs.rewrap_keys()
        assert done.streams == 1
        assert done.unreadable == {sse_key_id(lost_key).hex(): 1, "damaged": 1}
        assert await read_all(await fs.get_object("bkt", "kept")) == kept
    finally:
        await fs.close()
