"""Regression class: a policy condition the gateway accepts but never evaluates.

PutBucketPolicy accepted ``s3:ExistingObjectTag/<tag>`` while nothing on the S3 request
path ever gave it a value, so a Deny on it denied nothing and an Allow allowed nothing.
This walks every condition key the policy parser accepts (``condition_keys.KEYS`` and
each key family) and proves, against the real gateway, that the request path feeds it: a
``Deny`` when the key is present (``Null: false``) refuses the key's witness request, and
a ``Deny`` when it is absent (``Null: true``) lets the same request through. A key added to
the table without a witness here fails; so does a witness whose request never carries its
key. A key the gateway cannot feed must not be accepted at all: PutBucketPolicy refuses it
with ``MalformedPolicy`` naming it (the second test keeps a sample of AWS's keys so).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest

from gateway.authz.condition_keys import FAMILIES, KEYS, lookup_key
from tests.e2e.gateway_process import Gateway
from tests.e2e.oauth_util import make_setup
from tests.e2e.post_util import post_form, presigned_post, sigv2_fields
from tests.e2e.s3util import added_header, call_status, expect_error, raw_request
from tests.e2e.tenants import new_tenant

TAG = "team"
"""The tag name the family keys are walked with (``s3:ExistingObjectTag/team``...)."""


@dataclass
class Env:
    gateway: Gateway
    s3: Any
    bucket: str
    version: str
    user_token: str


Request = Callable[[Env], int]
"""Makes the witness request; returns its HTTP status."""


@dataclass(frozen=True)
class Witness:
    """A request that carries the key, and the action(s) its decision is made for."""

    actions: tuple[str, ...]
    request: Request
    on_bucket: bool = False


def _get(env: Env) -> int:
    return call_status(env.s3.get_object, Bucket=env.bucket, Key="tagged")


def _get_version(env: Env) -> int:
    return call_status(env.s3.get_object, Bucket=env.bucket, Key="tagged", VersionId=env.version)


def _get_as_user(env: Env) -> int:
    """An OAuth user's JWT as a Bearer credential: the one kind of caller with a name."""
    headers = {"Host": f"127.0.0.1:{env.gateway.s3_port}", "Authorization": env.user_token}
    return raw_request(env.gateway, "GET", f"/{env.bucket}/tagged", headers=headers).status


def _get_with_referer(env: Env) -> int:
    with added_header(env.s3, "Referer", "https://www.example.com/"):
        return _get(env)


def _list(env: Env) -> int:
    return call_status(
        env.s3.list_objects_v2, Bucket=env.bucket, Prefix="t", Delimiter="/", MaxKeys=5
    )


def _put(**extra: Any) -> Request:
    def request(env: Env) -> int:
        key = f"probe-{uuid.uuid4().hex[:8]}"
        return call_status(env.s3.put_object, Bucket=env.bucket, Key=key, Body=b"p", **extra)

    return request


def _put_if_match(env: Env) -> int:
    """A conditional overwrite of ``tagged`` (its ETag read first)."""
    etag = env.s3.head_object(Bucket=env.bucket, Key="tagged")["ETag"]
    return call_status(env.s3.put_object, Bucket=env.bucket, Key="tagged", Body=b"t2", IfMatch=etag)


def _copy(**extra: Any) -> Request:
    def request(env: Env) -> int:
        key = f"copy-{uuid.uuid4().hex[:8]}"
        source = {"Bucket": env.bucket, "Key": "tagged"}
        return call_status(
            env.s3.copy_object, Bucket=env.bucket, Key=key, CopySource=source, **extra
        )

    return request


def _owner_grant(env: Env) -> str:
    return f'id="{env.s3.get_bucket_acl(Bucket=env.bucket)["Owner"]["ID"]}"'


def _put_granting(param: str) -> Request:
    """A PutObject granting the bucket's owner ``param`` (``GrantRead``, ...)."""

    def request(env: Env) -> int:
        return _put(**{param: _owner_grant(env)})(env)

    return request


def _put_bucket_acl_granting_write(env: Env) -> int:
    owner = _owner_grant(env)
    return call_status(
        env.s3.put_bucket_acl, Bucket=env.bucket, GrantWrite=owner, GrantFullControl=owner
    )


READ = ("s3:GetObject",)
WRITE = ("s3:PutObject",)
WITNESSES: dict[str, Witness] = {
    "aws:SourceIp": Witness(READ, _get),
    "aws:SecureTransport": Witness(READ, _get),
    "aws:CurrentTime": Witness(READ, _get),
    "aws:EpochTime": Witness(READ, _get),
    "aws:PrincipalAccount": Witness(READ, _get),
    "aws:userid": Witness(READ, _get),
    "aws:username": Witness(READ, _get_as_user),
    "aws:PrincipalType": Witness(READ, _get),
    "s3:prefix": Witness(("s3:ListBucket",), _list, on_bucket=True),
    "s3:delimiter": Witness(("s3:ListBucket",), _list, on_bucket=True),
    "s3:max-keys": Witness(("s3:ListBucket",), _list, on_bucket=True),
    "s3:x-amz-acl": Witness(WRITE, _put(ACL="private")),
    "s3:x-amz-server-side-encryption": Witness(WRITE, _put(ServerSideEncryption="AES256")),
    "s3:RequestObjectTagKeys": Witness(WRITE, _put(Tagging=f"{TAG}=red")),
    "s3:VersionId": Witness(("s3:GetObjectVersion",), _get_version),
    "s3:signatureversion": Witness(READ, _get),
    "s3:authType": Witness(READ, _get),
    "s3:x-amz-content-sha256": Witness(READ, _get),
    f"s3:ExistingObjectTag/{TAG}": Witness(READ, _get),
    f"s3:RequestObjectTag/{TAG}": Witness(WRITE, _put(Tagging=f"{TAG}=red")),
    "s3:if-match": Witness(WRITE, _put_if_match),
    "s3:if-none-match": Witness(WRITE, _put(IfNoneMatch="*")),
    "s3:x-amz-grant-read": Witness(WRITE, _put_granting("GrantRead")),
    "s3:x-amz-grant-read-acp": Witness(WRITE, _put_granting("GrantReadACP")),
    "s3:x-amz-grant-write-acp": Witness(WRITE, _put_granting("GrantWriteACP")),
    "s3:x-amz-grant-full-control": Witness(WRITE, _put_granting("GrantFullControl")),
    "s3:x-amz-grant-write": Witness(
        ("s3:PutBucketAcl",), _put_bucket_acl_granting_write, on_bucket=True
    ),
    "s3:x-amz-storage-class": Witness(WRITE, _put(StorageClass="STANDARD")),
    "s3:x-amz-copy-source": Witness(WRITE, _copy()),
    "s3:x-amz-metadata-directive": Witness(WRITE, _copy(MetadataDirective="COPY")),
    "s3:ResourceAccount": Witness(READ, _get),
    "aws:Referer": Witness(READ, _get_with_referer),
    "aws:UserAgent": Witness(READ, _get),  # boto3 sends one
}
"""Every accepted key (families with the tag ``TAG``) -> a request that carries it."""

ACCEPTED = sorted([key.name for key in KEYS.values()] + [family + TAG for family in FAMILIES])
"""What the policy parser accepts, read from the parser's own table."""
WITNESSED_ELSEWHERE = {
    "s3:TlsVersion": "tests/security/test_tls_version_condition.py (a TLS listener's)",
    **{
        f"s3:object-lock-{name}": "tests/security/test_lock_condition_keys.py (a locked bucket)"
        for name in ("mode", "retain-until-date", "remaining-retention-days", "legal-hold")
    },
}
"""Keys whose witness needs a gateway of its own: where it is."""


@pytest.fixture(scope="module")
def user_token(gateway: Gateway) -> str:
    setup = make_setup(gateway, user_scopes=["read:objects"], client_scopes=["read:objects"])
    return f"Bearer {setup.login()['access_token']}"


@pytest.fixture
def env(gateway: Gateway, s3: Any, bucket: str, user_token: str) -> Iterator[Env]:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    put = s3.put_object(Bucket=bucket, Key="tagged", Body=b"t", Tagging=f"{TAG}=red")
    yield Env(gateway, s3, bucket, put["VersionId"], user_token)
    s3.delete_bucket_policy(Bucket=bucket)


def _deny_when(env: Env, key: str, witness: Witness, *, present: bool) -> None:
    """Deny the witness's actions when ``key`` is present (``present``) or absent."""
    arn = f"arn:aws:s3:::{env.bucket}"
    statement = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(witness.actions),
        "Resource": arn if witness.on_bucket else f"{arn}/*",
        "Condition": {"Null": {key: "false" if present else "true"}},
    }
    document = {"Version": "2012-10-17", "Statement": [statement]}
    env.s3.put_bucket_policy(Bucket=env.bucket, Policy=json.dumps(document))


def test_every_accepted_key_has_a_witness_and_no_witness_is_stale() -> None:
    missing = sorted(set(ACCEPTED) - set(WITNESSES) - set(WITNESSED_ELSEWHERE))
    assert not missing, (
        f"condition keys accepted by PutBucketPolicy without a witness: {missing}. Feed "
        "each from the S3 request path (gateway/s3/access_context.py, gateway/s3/access.py) "
        "and add its witness here, or make the parser refuse it (condition_keys.KEYS)"
    )
    assert sorted([*WITNESSES, *WITNESSED_ELSEWHERE]) == ACCEPTED


@pytest.mark.parametrize("key", sorted(WITNESSES))
def test_the_request_path_feeds_every_accepted_key(env: Env, key: str) -> None:
    witness = WITNESSES.get(key)
    assert witness is not None, f"{key} is accepted but has no witness (see the test above)"
    _deny_when(env, key, witness, present=True)
    assert witness.request(env) == 403, f"{key}: a Deny on its presence did not apply"
    _deny_when(env, key, witness, present=False)
    assert witness.request(env) == 200, f"{key}: the witness request does not carry it"


REFUSED = (
    "s3:signatureAge",
    "s3:locationconstraint",
    "aws:SourceVpce",
    "aws:PrincipalOrgID",
)
"""AWS condition keys the request path does not feed: accepting them would make a
condition that never applies."""


@pytest.mark.parametrize("key", REFUSED)
def test_keys_the_gateway_cannot_feed_are_refused(s3: Any, bucket: str, key: str) -> None:
    assert lookup_key(key) is None, f"{key} is accepted now: move it to WITNESSES"
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {key: "x"}},
            }
        ],
    }
    exc = expect_error(
        "MalformedPolicy", 400, s3.put_bucket_policy, Bucket=bucket, Policy=json.dumps(document)
    )
    assert exc.response["Error"]["Message"] == f"Policy has an invalid condition key: {key}"


def _put_tagging(env: Env) -> int:
    tags = {"TagSet": [{"Key": TAG, "Value": "red"}]}
    return call_status(env.s3.put_object_tagging, Bucket=env.bucket, Key="tagged", Tagging=tags)


@pytest.mark.parametrize("key", ["s3:RequestObjectTagKeys", f"s3:RequestObjectTag/{TAG}"])
def test_request_tags_of_a_tagging_document_are_fed(env: Env, key: str) -> None:
    witness = Witness(("s3:PutObjectTagging",), _put_tagging)
    _deny_when(env, key, witness, present=True)
    assert witness.request(env) == 403
    _deny_when(env, key, witness, present=False)
    assert witness.request(env) == 200


def test_the_resource_account_is_the_bucket_owner_s(gateway: Gateway) -> None:
    tenant = new_tenant(gateway, "resacct")
    s3 = tenant.client()
    bucket = f"ra-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    for account, status in ((tenant.id, 200), ("acct_someone_else", 403)):
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringNotEquals": {"s3:ResourceAccount": account}},
        }
        document = {"Version": "2012-10-17", "Statement": [statement]}
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(document))
        assert call_status(s3.get_object, Bucket=bucket, Key="k") == status


def _path_and_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _presigned_get(env: Env, signature_version: str) -> int:
    client = env.gateway.client(signature_version=signature_version)
    url = client.generate_presigned_url(
        "get_object", Params={"Bucket": env.bucket, "Key": "tagged"}
    )
    return raw_request(env.gateway, "GET", _path_and_query(url)).status


def _form(env: Env, fields: dict[str, str]) -> int:
    status = post_form(env.gateway, env.bucket, fields, b"form").status
    return 200 if status == 204 else status


SIGNED_KINDS: dict[str, tuple[Request, str, str, str]] = {
    "SigV4 header": (_get, "s3:GetObject", "REST-HEADER", "AWS4-HMAC-SHA256"),
    "SigV4 presigned URL": (
        lambda env: _presigned_get(env, "s3v4"),
        "s3:GetObject",
        "REST-QUERY-STRING",
        "AWS4-HMAC-SHA256",
    ),
    "SigV2 presigned URL": (
        lambda env: _presigned_get(env, "s3"),
        "s3:GetObject",
        "REST-QUERY-STRING",
        "AWS",
    ),
    "SigV4 form": (
        lambda env: _form(
            env,
            presigned_post(env.gateway.client(signature_version="s3v4"), env.bucket, "posted"),
        ),
        "s3:PutObject",
        "POST",
        "AWS4-HMAC-SHA256",
    ),
    "SigV2 form": (
        lambda env: _form(
            env,
            sigv2_fields(env.gateway.access_key, env.gateway.secret_key, env.bucket, "posted"),
        ),
        "s3:PutObject",
        "POST",
        "AWS",
    ),
}
"""Each way a request is signed: its witness, the action decided, and the values AWS
gives ``s3:authType`` and ``s3:signatureversion`` for it (S3 API Reference, "Signature
Version 4 authentication specific policy keys")."""


@pytest.mark.parametrize("kind", sorted(SIGNED_KINDS))
def test_each_signing_kind_gets_its_auth_type_and_signature_version(env: Env, kind: str) -> None:
    """The values themselves, not only their presence: a browser form was once decided as
    ``REST-HEADER`` without a signature version (its signature is in the form's fields,
    not in a header or the query), so a Deny on ``POST`` or on Signature Version 2 let
    forms through."""
    request, action, auth_type, version = SIGNED_KINDS[kind]

    def deny(condition: dict[str, dict[str, str]]) -> None:
        statement = {
            "Effect": "Deny",
            "Principal": "*",
            "Action": action,
            "Resource": f"arn:aws:s3:::{env.bucket}/*",
            "Condition": condition,
        }
        document = {"Version": "2012-10-17", "Statement": [statement]}
        env.s3.put_bucket_policy(Bucket=env.bucket, Policy=json.dumps(document))

    assert request(env) == 200, kind
    deny({"StringEquals": {"s3:authType": auth_type, "s3:signatureversion": version}})
    assert request(env) == 403, f"{kind}: not decided as {auth_type} / {version}"
    deny({"StringNotEquals": {"s3:authType": auth_type}})
    assert request(env) == 200, f"{kind}: s3:authType is not {auth_type}"
    deny({"StringNotEquals": {"s3:signatureversion": version}})
    assert request(env) == 200, f"{kind}: s3:signatureversion is not {version}"
