"""AWS's official SigV4 test suite: canonical request, string to sign and signature.

The vectors (tests/sigv4/testdata/aws4_testsuite, Apache-2.0, LICENSE and NOTICE beside
them) sign for service "service" in us-east-1 with the suite's example credentials.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sigv4 import (
    AccessDenied,
    SignatureDoesNotMatch,
    SignedRequest,
    canonical_request,
    parse_auth,
    scope,
    sign,
    signing_key,
    string_to_sign,
    verify,
)

SUITE = Path(__file__).parent / "testdata" / "aws4_testsuite"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AMZ_DATE = "20150830T123600Z"
NOW = datetime(2015, 8, 30, 12, 36, tzinfo=UTC)

# normalize-path/* exercises dot-segment removal and `//` merging, which S3 does not do
# (the suite's normalize-path.txt says so: "you do not normalize URI paths for requests
# to Amazon S3"). The two cases in that folder that involve no normalisation still apply
# to S3 and run; the six that need normalising are excluded here on purpose.
NOT_FOR_S3 = {
    "get-relative",
    "get-relative-relative",
    "get-slash",
    "get-slash-dot-slash",
    "get-slash-pointless-dot",
    "get-slashes",
}


def _cases() -> list[Path]:
    found = sorted(p.parent for p in SUITE.rglob("*.sreq"))
    return [case for case in found if case.name not in NOT_FOR_S3]


CASES = _cases()


def _read(case: Path, ext: str) -> str:
    return (case / f"{case.name}.{ext}").read_text(encoding="utf-8")


def _parse(case: Path) -> tuple[SignedRequest, bytes]:
    """The signed request of ``case``: its .sreq with the Authorization of its .authz.

    (get-vanilla-with-session-token's .sreq carries a stale signature; .authz is right.)
    """
    text = _read(case, "sreq")
    head, _, body = text.partition("\n\n")
    lines = head.split("\n")
    request_line = lines[0].split(" ")
    method, target = request_line[0], " ".join(request_line[1:-1])
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # obs-fold continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value}\n{line}")
            continue
        name, _, value = line.partition(":")
        if name.lower() != "authorization":
            headers.append((name, value))
    headers.append(("Authorization", _read(case, "authz").strip()))
    path, _, query = target.partition("?")
    return SignedRequest(method, path, query, tuple(headers)), body.encode()


def test_suite_is_present() -> None:
    assert len(CASES) == 28
    assert (SUITE / "LICENSE").is_file()
    assert (SUITE / "NOTICE").is_file()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_canonical_request(case: Path) -> None:
    request, body = _parse(case)
    auth = parse_auth(request)
    assert auth is not None
    creq = canonical_request(
        request.method,
        request.raw_path,
        request.raw_query,
        request.headers,
        auth.signed_headers,
        hashlib.sha256(body).hexdigest(),
    )
    assert creq == _read(case, "creq")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_string_to_sign(case: Path) -> None:
    sts = string_to_sign(AMZ_DATE, scope("20150830", "us-east-1", "service"), _read(case, "creq"))
    assert sts == _read(case, "sts")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_signature(case: Path) -> None:
    key = signing_key(SECRET, "20150830", "us-east-1", "service")
    signature = sign(key, _read(case, "sts"))
    assert _read(case, "authz").endswith(f"Signature={signature}")


# Generic SigV4 lets some services take a session token added after signing; S3 does
# not: every x-amz-* header must be signed (sigv4/coverage.py), so verify refuses it.
UNSIGNED_AMZ_HEADER_CASES = {"post-sts-header-after": "x-amz-security-token"}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_verify_end_to_end(case: Path) -> None:
    """parse_auth + verify accept each vector (body-carrying ones sign sha256(body))."""
    request, body = _parse(case)
    if case.name in UNSIGNED_AMZ_HEADER_CASES:
        auth = parse_auth(request)
        assert auth is not None
        with pytest.raises(AccessDenied) as refused:
            verify(request, auth, SECRET, NOW, service="service")
        assert refused.value.extra == {"HeadersNotSigned": UNSIGNED_AMZ_HEADER_CASES[case.name]}
        return
    if body:
        request = SignedRequest(
            request.method,
            request.raw_path,
            request.raw_query,
            (*request.headers, ("x-amz-content-sha256", hashlib.sha256(body).hexdigest())),
        )
    auth = parse_auth(request)
    assert auth is not None
    verified = verify(request, auth, SECRET, NOW, service="service")
    assert verified.seed_signature == auth.signature
    with pytest.raises(SignatureDoesNotMatch):
        verify(request, auth, SECRET + "x", NOW, service="service")
