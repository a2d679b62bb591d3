"""Property-based fuzzing of the S3 request path (hypothesis), against the real app.

Random methods, targets (bucket, key, query, in any mix of percent-encodings), header
sets, credentials (the root key as Bearer, SigV4-signed over whatever was drawn, junk)
and bodies (bytes, XML documents, aws-chunked framing) go through the real application
on a real socket of this process. Every answer must be:

* never a 5xx other than 501 NotImplemented, and never a traceback or an error record
  in the ``nfyio`` / ``aiohttp`` loggers;
* an S3 XML error document whenever it is an error with a body;
* the same for equivalent encodings of one request (``~`` or ``%7E`` or ``%7e``, a query
  name or value with its unreserved characters percent-encoded or not, header names in
  any case), with Bearer and with a SigV4 signature computed over the plain form.

``make test`` runs the ``quick`` profile (a few seconds); ``make fuzz`` runs
``NFYIO_FUZZ=long`` (thousands of examples). A failure prints the request hypothesis
shrank it to: add it to ``tests/gateway/s3/test_fuzz_regressions.py``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from gateway.app import Shared, make_s3_app
from gateway.bootstrap import ensure_admin
from gateway.s3.operations import OPERATIONS, SUBRESOURCES, Target
from gateway.s3.xml import S3_NS
from sigv4 import canonical_request, scope, sign, signing_key, string_to_sign
from tests.gateway.s3.conftest import ROOT_KEY, ROOT_SECRET, make_config

settings.register_profile(
    "quick",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=10000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
PROFILE = settings.get_profile(os.environ.get("NFYIO_FUZZ", "quick"))
HALF = settings(PROFILE, max_examples=max(1, PROFILE.max_examples // 2))
"""For the equivalence property: four requests per example."""

BUCKET = "fuzz-bucket"
KEYS = ("k", "dir/a", "~tilde", "a.b-c_d", "a+b", "sp ace")
UPLOAD_KEY = "mp"
LIVE: dict[str, str] = {"upload": "no-such-upload"}
"""Values only the running harness knows (a real multipart upload id), drawn lazily."""
UNRESERVED = re.compile(r"[A-Za-z0-9\-_.~]")
BEARER = f"Bearer {ROOT_SECRET}"

# -- the application on a socket, one event loop for every example ------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def error_code(self) -> str | None:
        if not self.body:
            return self.headers.get("x-amz-error-code")
        return ElementTree.fromstring(self.body).findtext("Code")


class LogTrap(logging.Handler):
    """Collects error records and tracebacks of the gateway and of aiohttp."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)


class Harness:
    def __init__(self, tmp_path: Path) -> None:
        self.config = make_config(tmp_path)
        self.trap = LogTrap()
        self._loggers = [logging.getLogger(n) for n in ("nfyio", "aiohttp")]
        for logger in self._loggers:
            logger.addHandler(self.trap)
        self._runner = asyncio.Runner()
        self._runner.run(self._start())

    async def _start(self) -> None:
        await ensure_admin(self.config)
        self.server = TestServer(make_s3_app(Shared(self.config)))
        await self.server.start_server()
        self.session = aiohttp.ClientSession(auto_decompress=False)
        await self._send("PUT", f"/{BUCKET}", [("Authorization", BEARER)], b"")
        for key in KEYS:
            target = f"/{BUCKET}/{_encode(key, keep_unreserved=True)}"
            await self._send("PUT", target, [("Authorization", BEARER)], key.encode())
        created = await self._send(
            "POST", f"/{BUCKET}/{UPLOAD_KEY}?uploads", [("Authorization", BEARER)], b""
        )
        upload = ElementTree.fromstring(created.body).find(f"{{{S3_NS}}}UploadId")
        assert upload is not None and upload.text
        LIVE["upload"] = upload.text

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def send(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Answer:
        return self._runner.run(self._send(method, target, headers, body))

    async def _send(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Answer:
        url = URL(f"http://{self.host}{target}", encoded=True)
        async with self.session.request(
            method,
            url,
            headers=list(headers),
            data=body if body or method in ("PUT", "POST") else None,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            allow_redirects=False,
        ) as response:
            return Answer(
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                await response.read(),
            )

    def close(self) -> None:
        async def stop() -> None:
            await self.session.close()
            await self.server.close()

        self._runner.run(stop())
        self._runner.close()
        for logger in self._loggers:
            logger.removeHandler(self.trap)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    running = Harness(tmp_path)
    yield running
    running.close()


def check(harness: Harness, method: str, answer: Answer) -> None:
    """The properties every answer has."""
    failures = [harness.trap.format(r) for r in harness.trap.records]
    harness.trap.records.clear()
    assert failures == []
    assert answer.status < 500 or answer.status == 501, (answer.status, answer.body[:500])
    if answer.status >= 400 and method != "HEAD":
        assert answer.headers.get("content-type") == "application/xml", answer.body[:200]
        assert answer.error_code(), answer.body[:200]


# -- drawing requests ---------------------------------------------------------------------


def _encode(text: str, *, keep_unreserved: bool, keep: str = "") -> str:
    out = []
    for char in text:
        if (keep_unreserved and UNRESERVED.fullmatch(char)) or char in keep:
            out.append(char)
        else:
            out.extend(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
    return "".join(out)


@st.composite
def encoded(draw: st.DrawFn, text: str, keep: str = "") -> str:
    """``text`` percent-encoded, each unreserved character kept or encoded (either hex
    case) at random; reserved characters always encoded, except those in ``keep``."""
    out = []
    for char in text:
        if char in keep or (UNRESERVED.fullmatch(char) and draw(st.booleans())):
            out.append(char)
        else:
            for byte in char.encode("utf-8", "surrogatepass"):
                hexed = f"{byte:02X}"
                out.append("%" + (hexed.lower() if draw(st.booleans()) else hexed))
    return "".join(out)


QUERY_NAMES = (
    "acl", "uploads", "uploadId", "partNumber", "versionId", "list-type", "prefix",
    "delimiter", "max-keys", "marker", "continuation-token", "start-after", "encoding-type",
    "fetch-owner", "location", "delete", "versions", "versioning", "tagging", "website",
    "part-number-marker", "max-parts", "max-uploads", "key-marker", "upload-id-marker",
    "version-id-marker", "response-content-type", "response-content-disposition",
    "response-expires", "response-cache-control", "x-id", "attributes", "retention",
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
    "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Content-Sha256", "AWSAccessKeyId",
    "Expires", "Signature",
)  # fmt: skip
VALUES = (
    "", "0", "1", "2", "-1", "10001", "1000", "abc", "null", "url", "true", "/", "a/b",
    "99999999999999999999", "-99999999999999999", "AWS4-HMAC-SHA256", "UNSIGNED-PAYLOAD",
    f"{ROOT_KEY}/20240101/us-east-1/s3/aws4_request", "20240101T000000Z", "host",
    "a" * 64, "bm90LWEtdG9rZW4", "Wed, 01 Mar 2006 12:00:00 GMT", "bytes=0-1",
)  # fmt: skip
HEADER_VALUES: dict[str, tuple[str, ...]] = {
    "authorization": (
        BEARER, BEARER, BEARER, "Bearer nope", "Basic eDp5", "AWS AK:sig",
        "AWS4-HMAC-SHA256 Credential=x", f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/20240101/"
        "us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + "0" * 64,
    ),
    "x-api-key": (ROOT_SECRET, "", "sk_nope"),
    "x-amz-content-sha256": (
        "UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", hashlib.sha256(b"").hexdigest(), "junk",
    ),
    "x-amz-decoded-content-length": ("0", "5", "-1", "x", "99999999999999999999"),
    "x-amz-trailer": ("x-amz-checksum-crc32", "x-amz-checksum-sha256,x-amz-checksum-crc32",
                      "x-amz-meta-a", ""),
    "x-amz-sdk-checksum-algorithm": ("CRC32", "crc32c", "SHA256", "MD5", ""),
    "x-amz-checksum-crc32": ("AAAAAA==", "junk", ""),
    "x-amz-checksum-sha256": ("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", "x"),
    "content-md5": ("1B2M2Y8AsgTpgAmY7PhCfg==", "junk", ""),
    "range": ("bytes=0-1", "bytes=-1", "bytes=5-", "bytes=1-0", "bytes=0-1,3-4", "x"),
    "if-match": ('"x"', "*", ""),
    "if-none-match": ('"x"', "*"),
    "if-modified-since": ("Wed, 01 Mar 2006 12:00:00 GMT", "junk"),
    "if-unmodified-since": ("Wed, 01 Mar 2006 12:00:00 GMT", "junk"),
    "x-amz-copy-source": (f"/{BUCKET}/k", f"{BUCKET}/k?versionId=null", "/nope/k", "/", "%ff",
                          f"/{BUCKET}/k?versionId=", f"/{BUCKET}/k?x=y"),
    "x-amz-copy-source-range": ("bytes=0-0", "bytes=1-0", "x"),
    "x-amz-copy-source-if-match": ('"x"',),
    "x-amz-metadata-directive": ("COPY", "REPLACE", "x"),
    "x-amz-acl": ("private", "public-read", "x"),
    "x-amz-meta-a": ("b", "x" * 3000),
    "x-amz-date": ("20240101T000000Z", "junk"),
    "content-type": ("text/plain", "application/xml", ""),
    "content-encoding": ("aws-chunked", "gzip, aws-chunked", "gzip"),
    "x-amz-checksum-mode": ("ENABLED", "x"),
    "x-amz-tagging": ("a=b",),
    "x-amz-storage-class": ("STANDARD", "GLACIER", "x"),
    "expect": ("100-continue",),
    "x-forwarded-host": ("evil.example",),
}  # fmt: skip
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40)
TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=20)

CHUNKED_HELLO = b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n"
BODIES = (
    b"",
    CHUNKED_HELLO,
    b"5\r\nhello\r\n0\r\n\r\n",
    b"zz\r\n",
    b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n",
    b"<Delete><Object><Key>k</Key></Object></Delete>",
    b"<Delete><Quiet>true</Quiet></Delete>",
    b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>"
    b"</CompleteMultipartUpload>",
    b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint>"
    b"</CreateBucketConfiguration>",
    b"<!DOCTYPE x [<!ENTITY a 'b'>]><Delete>&a;</Delete>",
    b"<not-xml",
)


def mostly(
    common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any], *, one_in: int = 8
) -> st.SearchStrategy[Any]:
    """``rare`` about once in ``one_in`` draws, else ``common`` (``one_of`` would weigh them
    alike, and merges repeated branches). The rare pick is a middle value: hypothesis
    draws the bounds of a range more often than the rest."""
    middle = (one_in + 1) // 2
    return st.integers(1, one_in).flatmap(lambda n: rare if n == middle else common)


UPLOAD_ID = st.builds(lambda: LIVE["upload"])
QUERY_VALUES: dict[str, st.SearchStrategy[str]] = {
    "uploadId": mostly(UPLOAD_ID, st.sampled_from(VALUES)),
    "partNumber": st.sampled_from(["1", "2", "10000", "10001", "0", "-1", "x", ""]),
    "versionId": st.sampled_from(["null", "v1", ""]),
}
_ODD_BUCKETS = ["missing-bucket", "Bad_Name", "ab", "xn--x", "1.2.3.4", "a..b"]
BUCKETS = mostly(st.just(BUCKET), st.one_of(st.sampled_from(_ODD_BUCKETS), TEXT.filter(bool)))
OBJECT_KEYS = st.one_of(st.sampled_from(KEYS), st.just(UPLOAD_KEY), TEXT.filter(bool))
ODD_METHODS = st.sampled_from(["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH", "COPY"])
COPY_SOURCES = st.sampled_from(HEADER_VALUES["x-amz-copy-source"])
IMPLEMENTED = st.sampled_from([row for row in OPERATIONS if row.implemented])
# Extra query parameters: mostly ones that refine an operation (prefix, max-keys, ...),
# sometimes any name (a second subresource, presigned-URL parameters, text).
EXTRA_NAMES = mostly(
    st.sampled_from([n for n in QUERY_NAMES if n not in SUBRESOURCES and "-Amz-" not in n]),
    st.one_of(st.sampled_from(QUERY_NAMES), TEXT),
    one_in=4,
)
_LISTING = ("prefix", "delimiter", "encoding-type", "max-keys")
_OVERRIDES = tuple(n for n in QUERY_NAMES if n.startswith("response-"))
OWN_PARAMETERS: dict[str, tuple[str, ...]] = {
    "ListObjects": (*_LISTING, "marker"),
    "ListObjectsV2": (*_LISTING, "continuation-token", "start-after", "fetch-owner"),
    "ListObjectVersions": (*_LISTING, "key-marker", "version-id-marker"),
    "ListMultipartUploads": (*_LISTING, "key-marker", "upload-id-marker", "max-uploads"),
    "ListParts": ("part-number-marker", "max-parts"),
    "GetObject": (*_OVERRIDES, "partNumber", "versionId"),
    "HeadObject": ("partNumber", "versionId"),
    "DeleteObject": ("versionId",),
    "CopyObject": ("versionId",),
}
"""The parameters each operation reads, drawn more often than the rest."""
NUMBERS: tuple[str, ...] = ("0", "1", "-1", "1000", "1001", "2147483647", "2147483648")
NUMBERS += ("99999999999999999999", "1e3", " 1", "+1", "\u0661", "x", "")
NUMERIC = frozenset(
    {"max-keys", "max-parts", "max-uploads", "part-number-marker", "partNumber", "X-Amz-Expires"}
    | {"Expires", "list-type", "fetch-owner"}
)


def values_for(name: str) -> st.SearchStrategy[str]:
    """Edge values for numeric parameters, the usual suspects for the rest."""
    if name in NUMERIC:
        return st.sampled_from(NUMBERS)
    if name == "uploadId":
        return QUERY_VALUES["uploadId"]
    return st.sampled_from(VALUES)


JUNK_QUERY = ("", "=", "a=b=c", "%zz", "%ff", "%", "+", "&&")


@st.composite
def operations(draw: st.DrawFn) -> tuple[str, str, list[tuple[str, str]]]:
    """(method, target, headers the operation needs) for a row of the operation table,
    bent now and then: another method, extra or junk query parameters."""
    row = draw(mostly(IMPLEMENTED, st.sampled_from(OPERATIONS), one_in=4))
    method = draw(mostly(st.just(row.method), ODD_METHODS, one_in=12))
    path = "/"
    if row.target is not Target.SERVICE:
        path += draw(encoded(draw(BUCKETS)))
    if row.target is Target.OBJECT:
        keys = OBJECT_KEYS
        if "uploadId" in row.query:  # the harness's upload belongs to UPLOAD_KEY
            keys = mostly(st.just(UPLOAD_KEY), OBJECT_KEYS)
        path += "/" + draw(encoded(draw(keys), keep="/"))
    pairs = []
    for required in row.query:
        name, eq, value = required.partition("=")
        piece = draw(encoded(name))
        if eq:
            piece += "=" + draw(encoded(value))
        elif name in QUERY_VALUES:
            piece += "=" + draw(encoded(draw(QUERY_VALUES[name])))
        pairs.append(piece)
    for _ in range(draw(st.integers(0, 3))):
        name = draw(mostly(st.sampled_from(OWN_PARAMETERS.get(row.name, ("prefix",))), EXTRA_NAMES))
        value = draw(mostly(values_for(name), st.one_of(st.none(), TEXT), one_in=5))
        piece = draw(encoded(name))
        if value is not None:
            piece += "=" + draw(encoded(value))
        pairs.append(piece)
    if not draw(st.integers(0, 4)):
        pairs += draw(st.lists(st.sampled_from(JUNK_QUERY), min_size=1, max_size=2))
    query = "&".join(draw(st.permutations(pairs)))
    target = path + ("?" + query if query or draw(st.booleans()) else "")
    needed = [(row.header, draw(COPY_SOURCES))] if row.header is not None else []
    return method, target, needed


@st.composite
def header_sets(draw: st.DrawFn) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(sorted(HEADER_VALUES)), max_size=6, unique=True))
    headers: list[tuple[str, str]] = draw(mostly(st.just([("Authorization", BEARER)]), st.just([])))
    for name in names:
        value = draw(st.one_of(st.sampled_from(HEADER_VALUES[name]), HEADER_TEXT))
        headers = [h for h in headers if h[0].lower() != name] + [(name, value.strip())]
    return headers


def sigv4_sign(
    method: str, target: str, headers: list[tuple[str, str]], body: bytes, host: str
) -> list[tuple[str, str]]:
    """Sign everything that was drawn with the root key (header auth), now."""
    when = datetime.now(UTC)
    amz_date, date = when.strftime("%Y%m%dT%H%M%SZ"), when.strftime("%Y%m%d")
    kept = [(k, v) for k, v in headers if k.lower() not in ("authorization", "x-amz-date")]
    kept += [("Host", host), ("x-amz-date", amz_date)]
    payload = dict((k.lower(), v) for k, v in kept).get("x-amz-content-sha256")
    if payload is None:
        payload = hashlib.sha256(body).hexdigest()
        kept.append(("x-amz-content-sha256", payload))
    names = tuple(sorted({k.lower() for k, _ in kept}))
    path, _, query = target.partition("?")
    creq = canonical_request(method, path, query, tuple(kept), names, payload)
    credential_scope = scope(date, "us-east-1", "s3")
    signature = sign(
        signing_key(ROOT_SECRET, date, "us-east-1", "s3"),
        string_to_sign(amz_date, credential_scope, creq),
    )
    authorization = (
        f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/{credential_scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return [*kept, ("Authorization", authorization)]


@PROFILE
@given(
    operation=operations(),
    headers=header_sets(),
    body=st.one_of(st.sampled_from(BODIES), st.binary(max_size=200)),
    signed=st.booleans(),
)
def test_no_request_breaks_the_gateway(
    harness: Harness,
    operation: tuple[str, str, list[tuple[str, str]]],
    headers: list[tuple[str, str]],
    body: bytes,
    signed: bool,
) -> None:
    method, target, needed = operation
    names = {name.lower() for name, _ in needed}
    headers = needed + [h for h in headers if h[0].lower() not in names]
    if signed:
        headers = sigv4_sign(method, target, headers, body, harness.host)
    answer = harness.send(method, target, headers, body)
    check(harness, method, answer)


NUMERIC_TARGETS = {
    "max-keys": f"/{BUCKET}?list-type=2",
    "max-parts": f"/{BUCKET}/{UPLOAD_KEY}?uploadId={{upload}}",
    "part-number-marker": f"/{BUCKET}/{UPLOAD_KEY}?uploadId={{upload}}",
    "max-uploads": f"/{BUCKET}?uploads",
    "partNumber": f"/{BUCKET}/k?x-id=GetObject",
    "list-type": f"/{BUCKET}?prefix=a",
    "Expires": f"/{BUCKET}/k?AWSAccessKeyId={ROOT_KEY}&Signature=x",
    "X-Amz-Expires": (
        f"/{BUCKET}/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={ROOT_KEY}%2F20240101"
        "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=" + "0" * 64
    ),
}


def test_numeric_parameters_at_their_edges(harness: Harness) -> None:
    """Every numeric parameter with every edge value, systematically (random draws reach
    a given pair rarely): a part-number-marker beyond SQLite's integers was a 500."""
    for name, target in NUMERIC_TARGETS.items():
        for value in NUMBERS:
            url = (
                target.format(upload=LIVE["upload"])
                + f"&{name}={_encode(value, keep_unreserved=True)}"
            )
            for method in ("GET", "HEAD"):
                check(harness, method, harness.send(method, url, [("Authorization", BEARER)], b""))


# -- equivalent encodings -----------------------------------------------------------------

READ_QUERIES = (
    (),
    (("list-type", "2"),),
    (("list-type", "2"), ("prefix", "di")),
    (("list-type", "2"), ("delimiter", "/"), ("max-keys", "2")),
    (("prefix", "~"), ("marker", "a.b")),
    (("versions", None),),
    (("uploads", None),),
    (("acl", None),),
    (("location", None),),
    (("encoding-type", "url"), ("prefix", "a")),
    (("response-content-type", "text/x-fuzz_1.0~"),),
    (("versionId", "null"),),
    (("partNumber", "1"),),
)
_VOLATILE = re.compile(rb"<(RequestId|HostId)>[^<]*</\1>")


def _stable(answer: Answer) -> tuple[Any, ...]:
    names = ("content-type", "content-length", "etag", "x-amz-error-code", "content-range")
    return (
        answer.status,
        tuple(answer.headers.get(n) for n in names),
        _VOLATILE.sub(b"", answer.body),
    )


@st.composite
def read_requests(draw: st.DrawFn) -> tuple[str, str, str, list[tuple[str, str]]]:
    """(method, plain target, equivalently re-encoded target, extra headers)."""
    method = draw(st.sampled_from(["GET", "HEAD"]))
    key = draw(st.one_of(st.none(), st.sampled_from(KEYS)))
    query = draw(st.sampled_from(READ_QUERIES))
    plain = f"/{BUCKET}"
    variant = "/" + draw(encoded(BUCKET))
    if key is not None:
        plain += "/" + _encode(key, keep_unreserved=True, keep="/")
        variant += "/" + draw(encoded(key, keep="/"))
    plain_query, variant_query = [], []
    for name, value in query:
        plain_piece = _encode(name, keep_unreserved=True)
        variant_piece = draw(encoded(name))
        if value is not None:
            plain_piece += "=" + _encode(value, keep_unreserved=True)
            variant_piece += "=" + draw(encoded(value))
        plain_query.append(plain_piece)
        variant_query.append(variant_piece)
    if query:
        plain += "?" + "&".join(plain_query)
        variant += "?" + "&".join(draw(st.permutations(variant_query)))
    extra = draw(
        st.lists(st.sampled_from([("Range", "bytes=0-1"), ("x-amz-checksum-mode", "ENABLED")]),
                 unique=True, max_size=2)
    )  # fmt: skip
    return method, plain, variant, extra


def _recase(headers: list[tuple[str, str]], cases: list[bool]) -> list[tuple[str, str]]:
    return [
        (name.upper() if upper else name.lower(), value)
        for (name, value), upper in zip(headers, cases, strict=False)
    ]


@HALF
@given(request=read_requests(), cases=st.lists(st.booleans(), min_size=8, max_size=8))
def test_equivalent_encodings_get_the_same_answer(
    harness: Harness,
    request: tuple[str, str, str, list[tuple[str, str]]],
    cases: list[bool],
) -> None:
    method, plain, variant, extra = request
    bearer = [("Authorization", BEARER), *extra]
    first = harness.send(method, plain, bearer, b"")
    check(harness, method, first)
    second = harness.send(method, variant, _recase(bearer, cases), b"")
    check(harness, method, second)
    assert _stable(first) == _stable(second), (plain, variant)

    signed = sigv4_sign(method, plain, list(extra), b"", harness.host)
    reference = harness.send(method, plain, signed, b"")
    assert reference.status != 403, reference.body
    assert _stable(reference) == _stable(first)
    respelled = harness.send(method, variant, _recase(signed, cases), b"")
    check(harness, method, respelled)
    assert _stable(respelled) == _stable(reference), (plain, variant)
