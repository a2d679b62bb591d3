"""Reading a CompleteMultipartUpload request: its part list (with each part's checksums)
and its whole-object checksum headers. What they must agree with is the backends' rule
(``backends.checksums.completion_checksums``)."""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from backends.checksums import parse_checksum_type
from backends.types import CompletionChecksums
from gateway.s3.errors import S3Error
from gateway.s3.numbers import xml_integer
from gateway.s3.xml import child_text, children, leaf_text, local
from sigv4 import CHECKSUM_HEADER_NAMES, CHECKSUM_HEADERS, CHECKSUM_MEMBERS, parse_checksum_value

__all__ = ["MAX_COMPLETION_ELEMENTS", "MAX_PARTS", "completion_checksums", "completion_parts"]

MAX_PARTS = 10000


MAX_COMPLETION_ELEMENTS = 1 + MAX_PARTS * (3 + len(CHECKSUM_MEMBERS))
"""The most elements a completion of 10,000 parts holds (each a ``Part`` with its
``PartNumber``, ``ETag`` and a checksum of every algorithm): a document with more is
refused as ``TooManyParts`` before it is parsed (``gateway.s3.xml.parse_xml``)."""


def _part_checksums(element: etree._Element) -> dict[str, str]:
    """``<ChecksumCRC32>`` ... of one ``<Part>`` (the first of each name): well formed,
    else ``InvalidRequest``. One pass over the part's children, whatever the number of
    algorithms: a completion lists up to 10,000 parts."""
    found: dict[str, str] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        algorithm = CHECKSUM_MEMBERS.get(local(child.tag))
        if algorithm is not None and algorithm not in found:
            found[algorithm] = parse_checksum_value(algorithm, leaf_text(child))
    return found


def completion_parts(
    root: etree._Element,
) -> tuple[list[tuple[int, str]], dict[int, dict[str, str]]]:
    """(part number, unquoted ETag) pairs in the order listed, and the checksums each
    part listed. ``MalformedXML`` for a document that is not a part list;
    ``TooManyParts`` beyond 10,000 parts."""
    if local(root.tag) != "CompleteMultipartUpload":
        raise S3Error("MalformedXML")
    parts: list[tuple[int, str]] = []
    checksums: dict[int, dict[str, str]] = {}
    elements = children(root, "Part")
    if len(elements) > MAX_PARTS:  # before any part is read: 5 MB holds 100,000 tiny ones
        raise S3Error("TooManyParts")
    for element in elements:
        number_text = child_text(element, "PartNumber")
        etag = child_text(element, "ETag")
        if number_text is None or etag is None:
            raise S3Error("MalformedXML")
        number = xml_integer(number_text)
        if number is None:
            raise S3Error("MalformedXML")
        parts.append((number, etag.strip().strip('"')))
        sums = _part_checksums(element)
        if sums:
            checksums[number] = sums
    if not parts:
        raise S3Error("MalformedXML", "You must specify at least one part")
    return parts, checksums


def completion_checksums(
    headers: Mapping[str, str], parts: Mapping[int, Mapping[str, str]]
) -> CompletionChecksums:
    """The request's checksums: the parts' listed ones, one ``x-amz-checksum-<alg>``
    header of the whole object (well formed; two are ``InvalidRequest``) and
    ``x-amz-checksum-type``."""
    sent = CHECKSUM_HEADER_NAMES.intersection(headers)
    if len(sent) > 1:
        raise S3Error(
            "InvalidRequest",
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        )
    algorithm: str | None = None
    value: str | None = None
    for name in sent:
        algorithm = CHECKSUM_HEADERS[name]
        value = headers[name].strip()
        # a COMPOSITE value is sent with its "-N" suffix: check the digest before it
        digest, dash, count = value.partition("-")
        parse_checksum_value(algorithm, digest)
        if dash and not count.isdigit():
            raise S3Error("InvalidRequest", f"Value for {name} header is invalid.")
    return CompletionChecksums(
        parts=parts,
        algorithm=algorithm,
        value=value,
        checksum_type=parse_checksum_type(headers.get("x-amz-checksum-type")),
    )
