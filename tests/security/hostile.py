"""Hostile values for every member of every operation botocore's model has and the
gateway implements: the class test of tests/security/test_hostile_members.py, shared with
tests/e2e/test_hostile_seaweedfs.py."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError
from botocore.model import OperationModel, Shape

from gateway.s3.operations import OPERATIONS
from tests.e2e.gateway_process import Gateway

__all__ = ["OPERATION_NAMES", "send_hostile_values"]

MODEL = botocore.session.get_session().get_service_model("s3")
OPERATION_NAMES = sorted(
    {op.name for op in OPERATIONS if op.implemented} & set(MODEL.operation_names)
)
MAX_DEPTH = 6


def _minimal(shape: Shape, depth: int = 0) -> Any:
    """A value of the shape with its required members only (plausible, not always valid)."""
    kind = shape.type_name
    if kind == "structure":
        if depth > MAX_DEPTH:
            return {}
        members = shape.members
        required = shape.required_members
        return {
            name: _minimal(member, depth + 1)
            for name, member in members.items()
            if name in required
        }
    if kind == "list":
        return [_minimal(shape.member, depth + 1)]
    if kind == "map":
        return {"a": "b"}
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return False
    if kind == "timestamp":
        return datetime(2030, 1, 1, tzinfo=UTC)
    if kind == "blob":
        return b"x"
    enum = shape.enum
    return enum[0] if enum else "x"


def _hostile(shape: Shape) -> list[Any]:
    kind = shape.type_name
    if kind == "string":
        return ["", " ", "%", "é中", "a" * 5000, "../../etc", "-1", "a\tb"]
    if kind in ("integer", "long"):
        return [-1, 0, 2**63, "abc", "1.5"]
    if kind == "boolean":
        return ["maybe", ""]
    if kind == "timestamp":
        return ["0", "99999999999999"]  # botocore refuses non-dates before sending
    if kind == "blob":
        return [b"", b"\xff" * 100]
    if kind == "map":
        return [{"": "x"}, {"a" * 300: "b" * 3000}]
    return []


def _leaves(shape: Shape, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Shape]]:
    """(path, shape) of every scalar inside a structure (lists: their one element)."""
    if len(path) > MAX_DEPTH:
        return
    if shape.type_name == "structure":
        for name, member in shape.members.items():
            yield from _leaves(member, (*path, name))
    elif shape.type_name == "list":
        yield from _leaves(shape.member, path)
    elif path:
        yield path, shape


def _with_leaf(shape: Shape, path: tuple[str, ...], value: Any) -> Any:
    """A plausible document of ``shape`` with the leaf at ``path`` set to ``value``."""
    if not path:
        return value
    if shape.type_name == "list":
        return [_with_leaf(shape.member, path, value)]
    document = _minimal(shape)
    head, *rest = path
    member = shape.members[head]
    document[head] = _with_leaf(member, tuple(rest), value)
    return document


def _variants(operation: OperationModel, base: dict[str, Any]) -> Iterator[dict[str, Any]]:
    shape = operation.input_shape
    if shape is None:
        return
    for name, member in shape.members.items():
        if name == "Bucket":
            continue
        for value in _hostile(member):
            yield {**base, name: value}
        if member.type_name == "structure" and not member.serialization.get("location"):
            for path, leaf in _leaves(member):
                for value in _hostile(leaf):
                    yield {**base, name: _with_leaf(member, path, value)}


def send_hostile_values(gateway: Gateway, name: str) -> None:
    """Send operation ``name`` once per hostile value of each member: no answer may be a
    5xx other than 501, no traceback may be logged."""
    s3 = gateway.client(parameter_validation=False)
    bucket = f"sec-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    upload = s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
    operation = MODEL.operation_model(name)
    known = {
        "Bucket": bucket,
        "Key": "k",
        "UploadId": upload,
        "PartNumber": 1,
        "CopySource": f"{bucket}/k",
    }
    base = _minimal(operation.input_shape) if operation.input_shape is not None else {}
    base.update({k: v for k, v in known.items() if k in base})
    call = getattr(s3, xform_name(name))
    answers: Counter[int] = Counter()
    for params in _variants(operation, base):
        try:
            call(**params)
        except ClientError as error:
            status = int(error.response["ResponseMetadata"].get("HTTPStatusCode", 0))
            assert status < 500 or error.response["Error"].get("Code") == "NotImplemented", (
                name,
                {k: repr(v)[:60] for k, v in params.items()},
                error.response,
            )
            answers[status] += 1
        except (ValueError, TypeError, AttributeError, botocore.exceptions.BotoCoreError):
            continue  # refused by botocore before sending: nothing reached the gateway
        else:
            answers[200] += 1
    if operation.input_shape is not None and len(operation.input_shape.members) > 1:
        assert sum(answers.values()) > 0, f"no request of {name} reached the gateway"
    assert "Traceback" not in gateway.log()
