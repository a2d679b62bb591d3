"""Class: every boolean element of an S3 request document is read by one rule, S3's.

S3 reads ``true`` and ``false`` in any case (it takes minio-py's ``<Quiet>True</Quiet>``,
minio-py #1185), surrounding whitespace aside, and refuses anything else with
``MalformedXML``, ``1`` and ``0`` included (aws-sdk-cpp #622). Each document had its own
reading: ``Quiet`` took any case, ``ExpiredObjectDeleteMarker`` only lower case (a
lifecycle rule with ``True`` was refused), and the public access block read the first of
two values of an element. One function (``gateway.s3.xml.bool_element``) reads them all
now; the first test keeps the table below complete: a boolean element botocore can send
to an operation the gateway implements, and not tried here, fails it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
import pytest
from botocore.model import Shape

from gateway.s3.operations import OPERATIONS
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import expect_error, raw_request, sign, unique


@dataclass(frozen=True)
class Document:
    """A request document with one boolean element in it (``{value}``: its content, the
    whole element given by ``element``), how to send it and how to read it back."""

    operation: str
    element: str
    method: str
    subresource: str
    template: str
    read_back: Callable[[Any, str, dict[str, Any]], bool]
    """``(s3, bucket, response of the PUT/POST as text)`` -> the value as applied."""
    unset: str | None
    """The error code reading it back answers while nothing was applied (``None``: a
    DeleteObjects, whose object is left in place)."""


def _lifecycle(s3: Any, bucket: str, _: dict[str, Any]) -> bool:
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    return bool(rules[0]["Expiration"]["ExpiredObjectDeleteMarker"])


def _block(name: str) -> Callable[[Any, str, dict[str, Any]], bool]:
    def read(s3: Any, bucket: str, _: dict[str, Any]) -> bool:
        config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        return bool(config[name])

    return read


def _bucket_key(s3: Any, bucket: str, _: dict[str, Any]) -> bool:
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    return bool(rules["Rules"][0]["BucketKeyEnabled"])


def _quiet(s3: Any, bucket: str, answer: dict[str, Any]) -> bool:
    return "<Deleted>" not in answer["text"]


_BLOCK = "<PublicAccessBlockConfiguration>{body}</PublicAccessBlockConfiguration>"
DOCUMENTS = [
    Document(
        "PutBucketLifecycleConfiguration",
        "ExpiredObjectDeleteMarker",
        "PUT",
        "lifecycle",
        "<LifecycleConfiguration><Rule><ID>m</ID><Filter><Prefix></Prefix></Filter>"
        "<Status>Enabled</Status><Expiration>{element}</Expiration></Rule>"
        "</LifecycleConfiguration>",
        _lifecycle,
        "NoSuchLifecycleConfiguration",
    ),
    *(
        Document(
            "PutPublicAccessBlock",
            name,
            "PUT",
            "publicAccessBlock",
            _BLOCK.format(body="{element}"),
            _block(name),
            "NoSuchPublicAccessBlockConfiguration",
        )
        for name in (
            "BlockPublicAcls",
            "IgnorePublicAcls",
            "BlockPublicPolicy",
            "RestrictPublicBuckets",
        )
    ),
    Document(
        "PutBucketEncryption",
        "BucketKeyEnabled",
        "PUT",
        "encryption",
        "<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault>"
        "<SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>"
        "{element}</Rule></ServerSideEncryptionConfiguration>",
        _bucket_key,
        "ServerSideEncryptionConfigurationNotFoundError",
    ),
    Document(
        "DeleteObjects",
        "Quiet",
        "POST",
        "delete",
        "<Delete><Object><Key>k</Key></Object>{element}</Delete>",
        _quiet,
        None,
    ),
]
IDS = [f"{d.operation}-{d.element}" for d in DOCUMENTS]


def _booleans(shape: Shape, seen: frozenset[str] = frozenset()) -> set[str]:
    if shape.type_name == "list":
        return _booleans(shape.member, seen)
    if shape.type_name != "structure" or shape.name in seen:
        return set()
    found: set[str] = set()
    for name, member in shape.members.items():
        if member.serialization.get("location"):
            continue
        if member.type_name == "boolean":
            found.add(member.serialization.get("name", name))
        found |= _booleans(member, seen | {shape.name})
    return found


def test_every_boolean_element_botocore_sends_is_tried_here() -> None:
    model = botocore.session.get_session().get_service_model("s3")
    implemented = {op.name for op in OPERATIONS if op.implemented}
    sent: set[tuple[str, str]] = set()
    for name in sorted(implemented & set(model.operation_names)):
        shape = model.operation_model(name).input_shape
        payload = None if shape is None else shape.serialization.get("payload")
        if shape is None or payload is None:
            continue
        sent |= {(name, element) for element in _booleans(shape.members[payload])}
    assert sent == {(d.operation, d.element) for d in DOCUMENTS}


def _send(gateway: Gateway, doc: Document, bucket: str, element: str) -> Any:
    body = doc.template.format(element=element).encode()
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    path = f"/{bucket}?{doc.subresource}"
    signed = sign(gateway, doc.method, path, body=body, headers=headers)
    return raw_request(gateway, doc.method, path, body=body, headers=signed)


def _fresh_bucket(s3: Any) -> str:
    name = unique("bool")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"x")
    return name


@pytest.mark.parametrize(
    ("text", "value"),
    [("true", True), ("True", True), ("TRUE", True), (" false ", False), ("False", False)],
)
@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_true_and_false_in_any_case_are_applied(
    gateway: Gateway, s3: Any, doc: Document, text: str, value: bool
) -> None:
    bucket = _fresh_bucket(s3)
    answer = _send(gateway, doc, bucket, f"<{doc.element}>{text}</{doc.element}>")
    assert answer.status in (200, 204), answer.body
    assert doc.read_back(s3, bucket, {"text": answer.body.decode()}) is value


@pytest.mark.parametrize(
    "element",
    [
        "<{name}>1</{name}>",
        "<{name}>0</{name}>",
        "<{name}>yes</{name}>",
        "<{name}></{name}>",
        "<{name}>true</{name}><{name}>false</{name}>",
        "<{name}>true<{name}>true</{name}></{name}>",
    ],
    ids=["one", "zero", "yes", "empty", "twice", "nested"],
)
@pytest.mark.parametrize("doc", DOCUMENTS, ids=IDS)
def test_anything_else_is_malformed_and_changes_nothing(
    gateway: Gateway, s3: Any, doc: Document, element: str
) -> None:
    bucket = _fresh_bucket(s3)
    answer = _send(gateway, doc, bucket, element.format(name=doc.element))
    assert (answer.status, answer.error_code()) == (400, "MalformedXML"), answer.body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["k"]
    if doc.unset is not None:
        expect_error(doc.unset, 404, doc.read_back, s3, bucket, {})
