"""Boolean request values: the headers and query parameters S3 reads as ``true`` or
``false`` (``x-amz-bypass-governance-retention``, ``x-amz-bucket-object-lock-enabled``,
``fetch-owner``), read by one function so that none treats another value as its default.

Every client sends ``true`` or ``false`` (botocore, the aws CLI, the JavaScript, Go and
Java SDKs, minio-py and minio-go serialise a boolean so); the words are read without
regard to case or surrounding blanks. Anything else, the empty value too, is 400
``InvalidArgument`` naming the header or parameter and what was sent: a typo in
``x-amz-bucket-object-lock-enabled`` must not make a bucket without Object Lock, nor one
in ``x-amz-bypass-governance-retention`` turn a delete the caller meant to force into a
refusal that looks like a protected version (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping

from gateway.s3.errors import S3Error

__all__ = ["ECHO_LIMIT", "parse_flag"]

ECHO_LIMIT = 1024
"""The most characters of a refused value echoed as ``ArgumentValue``."""

_WORDS = {"true": True, "false": False}


def parse_flag(values: Mapping[str, str], name: str) -> bool:
    """``values[name]`` read as a boolean; False when it is absent."""
    sent = values.get(name)
    if sent is None:
        return False
    flag = _WORDS.get(sent.strip().lower())
    if flag is None:
        raise S3Error(
            "InvalidArgument",
            f"{name} must be either true or false",
            extra={"ArgumentName": name, "ArgumentValue": sent[:ECHO_LIMIT]},
        )
    return flag
