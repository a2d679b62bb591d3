"""Accounts for the end-to-end tests: made through ``POST /v1/accounts`` with the root key,
each with its admin key and boto3 clients; anonymous boto3 clients and plain unsigned
HTTP requests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, NamedTuple

import boto3
from botocore import UNSIGNED
from botocore.config import Config as BotoConfig

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import api_json, bearer
from tests.e2e.s3util import RawResponse, urlopen

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


@dataclass
class Tenant:
    """An account and its first admin key."""

    gateway: Gateway
    id: str
    name: str
    email: str
    canonical_id: str
    key_id: str
    secret: str

    def client(self, **config: Any) -> Any:
        return self.gateway.client(self.key_id, self.secret, **config)

    @property
    def headers(self) -> dict[str, str]:
        """Bearer credentials for the REST API."""
        return bearer(self.secret)

    def key(self, **body: Any) -> dict[str, Any]:
        """Another key of this account (made with its admin key)."""
        body.setdefault("name", "e2e")
        made: dict[str, Any] = api_json(
            self.gateway, "POST", "/v1/access-keys", headers=self.headers, body=body, expect=201
        )
        return made


def new_tenant(gateway: Gateway, prefix: str = "t") -> Tenant:
    name = f"{prefix}-{uuid.uuid4().hex[:10]}"
    email = f"{name}@example.com"
    made = api_json(
        gateway, "POST", "/v1/accounts", body={"name": name, "email": email}, expect=201
    )
    key = made["admin_key"]
    return Tenant(
        gateway=gateway,
        id=made["id"],
        name=name,
        email=email,
        canonical_id=made["canonical_id"],
        key_id=key["id"],
        secret=key["secret"],
    )


class TwoAccounts(NamedTuple):
    """Two accounts, their boto3 clients, and a bucket of the first's."""

    first: Tenant
    second: Tenant
    first_s3: Any
    second_s3: Any
    bucket: str


def two_accounts(gateway: Gateway, first: str, second: str, *, bucket_prefix: str) -> TwoAccounts:
    """Accounts named after the prefixes ``first`` and ``second``, and a new bucket of
    the first's (``bucket_prefix-...``), for the tests of what one account may do to
    another's."""
    one, two = new_tenant(gateway, first), new_tenant(gateway, second)
    one_s3, two_s3 = one.client(), two.client()
    bucket = f"{bucket_prefix}-{uuid.uuid4().hex[:12]}"
    one_s3.create_bucket(Bucket=bucket)
    return TwoAccounts(one, two, one_s3, two_s3, bucket)


def bucket_with_object(owner: Tenant, prefix: str, body: bytes, **block: bool) -> tuple[Any, str]:
    """A new bucket of ``owner``'s (``prefix-...``) holding the object ``k`` (``body``),
    under the public access block settings ``block`` when some are given: the owner's
    client and the bucket's name."""
    s3 = owner.client()
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=body)
    if block:
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    return s3, name


def anonymous_client(gateway: Gateway) -> Any:
    """boto3 without credentials: requests go unsigned (no Authorization, no query auth)."""
    return boto3.client(
        "s3",
        endpoint_url=gateway.s3_url,
        region_name="us-east-1",
        verify=gateway.tls_ca if gateway.tls_ca else None,
        config=BotoConfig(
            signature_version=UNSIGNED,
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )


def anonymous_get(gateway: Gateway, path: str) -> RawResponse:
    """A plain unsigned GET, what a browser or curl sends."""
    return urlopen(gateway, f"{gateway.s3_url}{path}")


def anonymous_read(gateway: Gateway, path: str) -> tuple[int, bytes]:
    """:func:`anonymous_get`'s status, and its body when it is 200 (an error's body is
    S3's XML: b"" here, so a test compares one pair)."""
    got = anonymous_get(gateway, path)
    return got.status, got.body if got.status == 200 else b""


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def public_read(bucket: str, condition: dict[str, Any] | None = None) -> str:
    """A bucket policy letting anyone read the bucket's objects (when ``condition``
    holds)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    if condition is not None:
        statement["Condition"] = condition
    return policy(statement)


def deny_on_objects(
    s3: Any, bucket: str, actions: str | list[str], condition: dict[str, Any] | None = None
) -> None:
    """Set the bucket's policy to one statement denying everyone ``actions`` on its
    objects (when ``condition`` holds)."""
    statement: dict[str, Any] = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions,
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    if condition is not None:
        statement["Condition"] = condition
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(statement))
