"""Class: a browser form upload can do exactly what its signed policy allows, nothing more.

Only the policy is signed, so every other part of the request is attacker-controlled:
HTTP headers, form fields, part headers, the order of parts, the size of the body. Each
test sends one such change and checks that it is refused (or has no effect) and that
nothing is stored. The file is never read before the form is authenticated and its policy
checked, and its size limit holds while it streams.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.post_util import form_body, post_form
from tests.e2e.rest_util import ADMIN, call, make_key
from tests.e2e.s3util import RawResponse, keys_of, raw_request

MiB = 1024 * 1024


@pytest.fixture
def v4(gateway: Gateway) -> Any:
    return gateway.client(signature_version="s3v4")


def signed(v4: Any, bucket: str, key: str = "uploads/${filename}", **kwargs: Any) -> dict[str, str]:
    fields: dict[str, str] = v4.generate_presigned_post(Bucket=bucket, Key=key, **kwargs)["fields"]
    return fields


def test_unsigned_http_headers_never_reach_the_object(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    other = make_key(gateway, scopes=["admin"])
    reply = post_form(
        gateway,
        bucket,
        signed(v4, bucket),
        b"data",
        filename="f.txt",
        file_type="text/html",
        headers={
            "x-amz-meta-evil": "1",
            "x-amz-acl": "public-read",
            "x-amz-storage-class": "GLACIER",
            "Content-Encoding": "gzip",
            "X-Amz-Server-Side-Encryption": "AES256",
            "Authorization": f"Bearer {other['secret']}",
        },
    )
    assert reply.status == 204, reply.body
    head = s3.head_object(Bucket=bucket, Key="uploads/f.txt")
    assert head["Metadata"] == {}
    assert head["ContentType"] == "binary/octet-stream"  # not the part's text/html
    assert "ContentEncoding" not in head
    assert "StorageClass" not in head
    assert "ServerSideEncryption" not in head
    grants = s3.get_object_acl(Bucket=bucket, Key="uploads/f.txt")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


@pytest.mark.parametrize(
    "extra",
    [
        {"acl": "public-read"},
        {"x-amz-meta-role": "admin"},
        {"Content-Type": "text/html"},
        {"success_action_redirect": "https://evil.example/"},
        {"x-amz-server-side-encryption": "AES256"},
        {"x-amz-storage-class": "GLACIER"},
    ],
)
def test_a_field_the_policy_does_not_name_is_refused(
    gateway: Gateway, v4: Any, s3: Any, bucket: str, extra: dict[str, str]
) -> None:
    reply = post_form(gateway, bucket, {**signed(v4, bucket), **extra}, b"data")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert "Extra input fields" in (reply.xml().findtext("Message") or "")
    assert keys_of(s3, bucket) == []


def test_fields_after_the_file_are_never_read(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    fields = signed(v4, bucket, "fixed.txt")
    late = [("key", "elsewhere.txt"), ("x-amz-meta-late", "1"), ("acl", "public-read")]
    reply = post_form(gateway, bucket, fields, b"data", after=late)
    assert reply.status == 204, reply.body
    assert keys_of(s3, bucket) == ["fixed.txt"]
    assert s3.head_object(Bucket=bucket, Key="fixed.txt")["Metadata"] == {}


def test_a_bucket_field_cannot_move_the_upload(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    other = f"{bucket}-b"
    s3.create_bucket(Bucket=other)
    fields = {**signed(v4, bucket, "fixed.txt"), "bucket": other}
    assert post_form(gateway, bucket, fields, b"data").status == 204
    assert keys_of(s3, bucket) == ["fixed.txt"]
    assert keys_of(s3, other) == []


def test_a_field_sent_twice_is_refused(gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = [*signed(v4, bucket, "fixed.txt").items(), ("KEY", "other.txt")]
    reply = post_form(gateway, bucket, fields, b"data")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert keys_of(s3, bucket) == []


def test_a_rewritten_policy_is_refused(gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = signed(v4, bucket, "fixed.txt", Conditions=[["content-length-range", 0, 10]])
    document = json.loads(base64.b64decode(fields["policy"]))
    document["conditions"] = [c for c in document["conditions"] if "content-length-range" not in c]
    document["conditions"].append(["starts-with", "$key", ""])
    forged = {**fields, "policy": base64.b64encode(json.dumps(document).encode()).decode()}
    reply = post_form(gateway, bucket, {**forged, "key": "anything"}, b"x" * 100)
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")
    assert keys_of(s3, bucket) == []


def test_an_upper_case_signature_does_not_match(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    """Before: a form's x-amz-signature was compared case-insensitively, so an upper-case
    one stored the file, unlike header and presigned SigV4 (which take 64 lower-case hex
    digits only). A form's signature is lower-case hex, as AWS computes and compares it:
    any other spelling is 403 SignatureDoesNotMatch and nothing is stored."""
    fields = signed(v4, bucket, "case.txt")
    shouted = {**fields, "x-amz-signature": fields["x-amz-signature"].upper()}
    reply = post_form(gateway, bucket, shouted, b"data")
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")
    assert keys_of(s3, bucket) == []
    assert post_form(gateway, bucket, fields, b"data").status == 204
    assert keys_of(s3, bucket) == ["case.txt"]


def test_a_policy_for_one_bucket_does_not_open_another(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    other = f"{bucket}-b"
    s3.create_bucket(Bucket=other)
    reply = post_form(gateway, other, signed(v4, bucket, "k"), b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert keys_of(s3, other) == []


def test_a_policy_cannot_widen_the_keys_own_limits(gateway: Gateway, s3: Any, bucket: str) -> None:
    for scopes, buckets in ((["read:objects", "read:buckets"], None), (["write:objects"], ["x-*"])):
        body: dict[str, Any] = {"scopes": scopes}
        if buckets is not None:
            body["buckets"] = buckets
        key = make_key(gateway, **body)
        client = gateway.client(key["id"], key["secret"], signature_version="s3v4")
        reply = post_form(gateway, bucket, signed(client, bucket, "k"), b"x")
        assert (reply.status, reply.error_code()) == (403, "AccessDenied"), scopes
    assert keys_of(s3, bucket) == []


def test_a_revoked_key_s_policy_stops_working(gateway: Gateway, s3: Any, bucket: str) -> None:
    key = make_key(gateway, scopes=["write:objects"])
    fields = signed(gateway.client(key["id"], key["secret"], signature_version="s3v4"), bucket, "k")
    assert post_form(gateway, bucket, fields, b"1").status == 204
    status, _, _ = call(gateway, "DELETE", f"/v1/access-keys/{key['id']}", headers=ADMIN)
    assert status in (200, 204)
    reply = post_form(gateway, bucket, fields, b"2")
    assert (reply.status, reply.error_code()) == (403, "InvalidAccessKeyId")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"1"


def test_an_expired_policy_stores_nothing(gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    reply = post_form(gateway, bucket, signed(v4, bucket, "k", ExpiresIn=-1), b"x")
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert keys_of(s3, bucket) == []


def test_an_unsigned_policy_binds_nothing(gateway: Gateway, v4: Any, s3: Any, bucket: str) -> None:
    fields = signed(v4, bucket, "k")
    unsigned = {"key": "k", "policy": fields["policy"]}
    reply = post_form(gateway, bucket, unsigned, b"x")
    assert (reply.status, reply.error_code()) == (400, "InvalidArgument")
    assert keys_of(s3, bucket) == []


def _scoped_form(
    gateway: Gateway, bucket: str, now: datetime, *, day: str, service: str
) -> dict[str, str]:
    """A SigV4 form dated ``now`` whose credential is scoped to ``day`` and ``service``
    and whose policy is signed with that scope's key (computed here as the SigV4 spec
    says): only the scope may be off."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{gateway.access_key}/{day}/us-east-1/{service}/aws4_request"
    document = {
        "expiration": (now + timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "conditions": [
            {"bucket": bucket},
            {"key": "k"},
            {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ],
    }
    policy = base64.b64encode(json.dumps(document).encode()).decode()
    key = ("AWS4" + gateway.secret_key).encode()
    for part in (day, "us-east-1", service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return {
        "key": "k",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-credential": credential,
        "x-amz-date": amz_date,
        "policy": policy,
        "x-amz-signature": hmac.new(key, policy.encode(), hashlib.sha256).hexdigest(),
    }


def test_a_form_s_credential_scope_is_checked_as_header_auth_s_is(
    gateway: Gateway, s3: Any, bucket: str
) -> None:
    """The form's policy signature is only as good as its scope: a key derived for another
    service, or for another day than the form's ``x-amz-date``, is refused (400
    ``InvalidArgument`` naming ``x-amz-credential``), as header auth refuses it. Before,
    any scope whose key signed the policy was taken."""
    today = datetime.now(UTC)
    ok = post_form(
        gateway,
        bucket,
        _scoped_form(gateway, bucket, today, day=f"{today:%Y%m%d}", service="s3"),
        b"x",
    )
    assert ok.status == 204, ok.body
    s3.delete_object(Bucket=bucket, Key="k")
    yesterday = f"{today - timedelta(days=1):%Y%m%d}"
    for day, service in ((f"{today:%Y%m%d}", "iam"), (yesterday, "s3")):
        form = _scoped_form(gateway, bucket, today, day=day, service=service)
        reply = post_form(gateway, bucket, form, b"x")
        assert (reply.status, reply.error_code()) == (400, "InvalidArgument"), (day, service)
        assert reply.xml().findtext("ArgumentName") == "x-amz-credential"
    assert keys_of(s3, bucket) == []


def answer_mid_body(
    gw: Gateway, bucket: str, fields: dict[str, str], sent_file: int
) -> RawResponse:
    """Send the form's fields and ``sent_file`` bytes of a file while declaring 256 MiB
    more, then wait for the answer without sending the rest: an answer proves the gateway
    decided without waiting for (or storing) the file."""
    head, content_type = form_body(list(fields.items()), b"")
    head = head[: head.rindex(b"\r\n--")]  # up to the file's first byte
    length = len(head) + sent_file + 256 * MiB
    request = (
        f"POST /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{gw.s3_port}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", gw.s3_port), timeout=30) as sock:
        sock.sendall(request + head + b"z" * sent_file)
        response = http.client.HTTPResponse(sock)
        response.begin()
        return RawResponse(response.status, dict(response.getheaders()), response.read())


def test_the_size_limit_holds_while_the_file_streams(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    fields = signed(v4, bucket, "k", Conditions=[["content-length-range", 0, MiB]])
    reply = answer_mid_body(gateway, bucket, fields, 2 * MiB)
    assert (reply.status, reply.error_code()) == (400, "EntityTooLarge")
    assert keys_of(s3, bucket) == []


def test_a_refused_form_is_answered_before_its_file_is_read(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    fields = {**signed(v4, bucket, "k"), "x-amz-signature": "0" * 64}
    reply = answer_mid_body(gateway, bucket, fields, 0)
    assert (reply.status, reply.error_code()) == (403, "SignatureDoesNotMatch")
    assert keys_of(s3, bucket) == []


def test_fields_before_the_file_are_bounded(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    padded = [*signed(v4, bucket, "k").items(), *[(f"x-ignore-{i}", "p" * 1000) for i in range(30)]]
    reply = post_form(gateway, bucket, padded, b"x")
    assert (reply.status, reply.error_code()) == (400, "MaxPostPreDataLengthExceededError")
    boundary = "b0undary"
    endless = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n'.encode()
        + b"X-Pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n" * 2000
    )
    reply = raw_request(
        gateway,
        "POST",
        f"/{bucket}",
        body=endless,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert reply.status == 400
    assert reply.error_code() in ("MalformedPOSTRequest", "MaxPostPreDataLengthExceededError")
    assert keys_of(s3, bucket) == []


@pytest.fixture(scope="module")
def small_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory, "gw-post-small", extra_env={"NFYIO_S3_MAX_OBJECT_SIZE": str(64 * 1024)}
    )


def test_the_gateway_size_limit_beats_a_generous_policy(small_gateway: Gateway) -> None:
    client = small_gateway.client(signature_version="s3v4")
    client.create_bucket(Bucket="limits")
    fields = signed(client, "limits", "k", Conditions=[["content-length-range", 0, 10 * MiB]])
    reply = post_form(small_gateway, "limits", fields, b"x" * (64 * 1024 + 1))
    assert (reply.status, reply.error_code()) == (400, "EntityTooLarge")
    assert reply.xml().findtext("MaxSizeAllowed") == str(64 * 1024)
    assert keys_of(client, "limits") == []
    assert post_form(small_gateway, "limits", fields, b"x" * (64 * 1024)).status == 204


@pytest.fixture(scope="module")
def tls_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    yield from own_gateway(
        tmp_path_factory,
        "gw-post-tls",
        extra_env={
            "NFYIO_SERVER_REQUIRE_TLS": "true",
            "NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true",
        },
    )


def test_a_signed_form_in_clear_text_is_refused_like_a_presigned_url(tls_only: Gateway) -> None:
    client = tls_only.client(signature_version="s3v4")
    client.create_bucket(Bucket="tls-forms")
    fields = signed(client, "tls-forms", "k")
    reply = post_form(tls_only, "tls-forms", fields, b"x", headers={"X-Forwarded-Proto": "http"})
    assert (reply.status, reply.error_code()) == (403, "AccessDenied")
    assert "HTTPS" in (reply.xml().findtext("Message") or "")
    assert keys_of(client, "tls-forms") == []
    secure = {"X-Forwarded-Proto": "https"}
    assert post_form(tls_only, "tls-forms", fields, b"x", headers=secure).status == 204


def _redirecting(v4: Any, bucket: str, target: str) -> dict[str, str]:
    """A form for ``doc.txt`` whose policy lets the page choose the redirect's path."""
    return signed(
        v4,
        bucket,
        "doc.txt",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "https://app.example/"]],
    )


@pytest.mark.parametrize(
    "target", ["https://app.example/done\r\nSet-Cookie: a=b", "https://app.example/a b"]
)
def test_a_redirect_that_would_split_the_answer_is_not_followed(
    gateway: Gateway, v4: Any, s3: Any, bucket: str, target: str
) -> None:
    """``success_action_redirect`` is a signed field, but a policy's ``starts-with`` lets
    the page choose the rest: a CR, LF or space in it (which ``urlsplit`` drops silently)
    would put a header of the page's choosing in the answer. S3 acts as if a target it
    cannot interpret were absent: 204, the object stored, no ``Location`` redirect."""
    reply = post_form(gateway, bucket, _redirecting(v4, bucket, target), b"text")
    assert reply.status == 204, reply.body
    assert "Set-Cookie" not in reply.headers
    assert not reply.headers.get("Location", "").startswith("https://app.example")
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"text"


def test_a_redirect_beyond_ascii_is_sent_percent_encoded(
    gateway: Gateway, v4: Any, bucket: str
) -> None:
    target = "https://app.example/café?x=é"
    reply = post_form(gateway, bucket, _redirecting(v4, bucket, target), b"text")
    assert reply.status == 303, reply.body
    location = reply.headers["Location"]
    assert location.isascii()
    assert location.startswith("https://app.example/caf%C3%A9?x=%C3%A9&bucket=")


def test_a_redirect_no_url_parser_reads_is_ignored(
    gateway: Gateway, v4: Any, s3: Any, bucket: str
) -> None:
    """A target whose authority no URL parser reads (an unclosed IPv6 ``[``, on which
    ``urlsplit`` raises ``ValueError``) is one S3 cannot interpret: 204, as if the field
    were absent. It answered 500 after the object was stored, so the client took a stored
    upload for a failed one."""
    target = "https://[app.example/done"
    fields = signed(
        v4,
        bucket,
        "unread.txt",
        Fields={"success_action_redirect": target},
        Conditions=[["starts-with", "$success_action_redirect", "https://"]],
    )
    reply = post_form(gateway, bucket, fields, b"text")
    assert reply.status == 204, reply.body
    assert not reply.headers.get("Location", "").startswith("https://[")
    assert s3.get_object(Bucket=bucket, Key="unread.txt")["Body"].read() == b"text"
