"""The shortcuts of the signature check each give what the longer way gives.

Each shortcut (the SDK form of the Authorization header read by a class of literal
characters, the empty body's hash looked up by name, the signed header names remembered
lower-cased) is compared with the way it replaced, spelled out here as it was.
"""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sigv4 import EMPTY_SHA256, PayloadMode, payload_mode, unsigned_amz_headers
from sigv4.auth import (
    _SDK_AUTHORIZATION,
    _credentials,
    _parse_credential,
    _parse_signed_headers,
    _signed_header_lists,
)
from sigv4.coverage import _LOWERED_LIMIT, _lowered_lists
from sigv4.errors import AuthorizationQueryParametersError

_CATEGORY_FORM = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^,\s=]+), ?SignedHeaders=([^,\s=]+), ?Signature=([^,\s=]+)",
    re.ASCII,
)
"""The SDK form as it was written, with ``\\s`` (ASCII) for the separators."""

_PIECES = st.sampled_from(
    [
        "AWS4-HMAC-SHA256 Credential=",
        "SignedHeaders=",
        "Signature=",
        "AK/20240524/us-east-1/s3/aws4_request",
        "host;x-amz-date",
        "0123abcd" * 8,
        ",",
        ", ",
        " ",
        "=",
        # ASCII whitespace (re.ASCII's \s), then characters Unicode calls white space
        # and ASCII does not, which the value may hold
        "\t",
        "\n",
        "\x0b",
        "\x0c",
        "\r",
        "\x1c",
        "\x1f",
        "\x85",
        "\xa0",
        "\u2003",
        "\u3000",
        "é",
        ";",
        "/",
    ]
)


def _groups(pattern: re.Pattern[str], text: str) -> tuple[str | None, ...] | None:
    found = pattern.fullmatch(text)
    return None if found is None else found.groups()


_VALUE = st.lists(_PIECES, max_size=3).map("".join)
_SEPARATOR = st.sampled_from([",", ", ", ",  ", " ,", ",\t", ""])
_SHAPED = st.builds(
    "AWS4-HMAC-SHA256 Credential={}{}SignedHeaders={}{}Signature={}".format,
    _VALUE,
    _SEPARATOR,
    _VALUE,
    _SEPARATOR,
    _VALUE,
)


@settings(max_examples=1000)
@given(st.one_of(_SHAPED, st.lists(_PIECES, max_size=14).map("".join)))
def test_the_sdk_form_reads_as_the_category_class_read_it(text: str) -> None:
    assert _groups(_SDK_AUTHORIZATION, text) == _groups(_CATEGORY_FORM, text)


def test_the_sdk_form_still_matches_what_the_sdks_send_and_nothing_with_a_separator() -> None:
    sdk = (
        "AWS4-HMAC-SHA256 Credential=AK/20240524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0a" * 32
    )
    assert _groups(_SDK_AUTHORIZATION, sdk) == (
        "AK/20240524/us-east-1/s3/aws4_request",
        "host;x-amz-date",
        "0a" * 32,
    )
    for separator in (" ", "\t", "\n", "\x0b", "\x0c", "\r", "=", ","):
        assert _SDK_AUTHORIZATION.fullmatch(sdk.replace("AK/", f"A{separator}K/")) is None
    # white space outside ASCII is part of a value, as it was under re.ASCII
    assert _groups(_SDK_AUTHORIZATION, sdk.replace("AK/", "A\xa0K/")) is not None


def test_the_empty_body_hash_is_a_sha256_in_either_case() -> None:
    assert payload_mode(EMPTY_SHA256) is PayloadMode.SHA256
    assert payload_mode(EMPTY_SHA256.upper()) is PayloadMode.SHA256
    assert payload_mode("ab" * 32) is PayloadMode.SHA256


_AMZ = st.sampled_from(["x-amz-date", "X-Amz-Date", "x-amz-acl", "X-AMZ-META-A", "host"])


@settings(max_examples=300)
@given(st.lists(_AMZ, max_size=4), st.lists(_AMZ, max_size=4))
def test_remembered_signed_names_give_what_lower_casing_them_gives(
    sent: list[str], signed: list[str]
) -> None:
    pairs = tuple((name, "v") for name in sent)
    reference = sorted(
        {n.lower() for n in sent if n.lower().startswith("x-amz-")}
        - {n.lower() for n in signed}
        - {"x-amz-content-sha256"}
    )
    as_tuple = tuple(signed)
    assert unsigned_amz_headers(pairs, as_tuple) == reference
    assert unsigned_amz_headers(pairs, as_tuple) == reference  # now from the memo
    assert unsigned_amz_headers(pairs, list(signed)) == reference
    assert unsigned_amz_headers(pairs, iter(signed)) == reference


def test_remembered_signed_names_stay_bounded() -> None:
    pairs = (("x-amz-date", "v"),)
    for i in range(3 * _LOWERED_LIMIT):
        assert unsigned_amz_headers(pairs, ("host", f"x-amz-meta-{i}")) == ["x-amz-date"]
        assert len(_lowered_lists) <= _LOWERED_LIMIT


def test_long_signed_values_are_read_and_not_remembered() -> None:
    """A presigned URL's query may carry 64 KiB of ``X-Amz-SignedHeaders`` (or of
    ``X-Amz-Credential``) before any key is known: such values are read as short ones
    are, and left out of the memos, which would otherwise hold ~1 MB a value."""
    error = AuthorizationQueryParametersError
    names = tuple(f"x-amz-meta-{i:04d}" for i in range(4000))  # 64 KiB joined
    value = ";".join(names)
    assert _parse_signed_headers(value, error) == names
    assert _parse_signed_headers(value.upper(), error) == names
    assert value not in _signed_header_lists and value.upper() not in _signed_header_lists
    sent = (("x-amz-date", "v"), ("x-amz-meta-0001", "v"))
    assert unsigned_amz_headers(sent, names) == ["x-amz-date"]
    assert unsigned_amz_headers(sent, names) == ["x-amz-date"]
    assert names not in _lowered_lists
    credential = "A" * 60_000 + "/20240524/us-east-1/s3/aws4_request"
    assert _parse_credential(credential, error) == ("A" * 60_000, "20240524", "us-east-1", "s3")
    assert credential not in _credentials
    # a client's own values are still remembered
    short = "host;x-amz-content-sha256;x-amz-date"
    assert _parse_signed_headers(short, error) == tuple(short.split(";"))
    assert short in _signed_header_lists
    assert unsigned_amz_headers(sent, tuple(short.split(";"))) == ["x-amz-meta-0001"]
    assert tuple(short.split(";")) in _lowered_lists
