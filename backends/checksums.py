"""Checksums of multipart uploads: the rules every backend applies, and the arithmetic.

S3 knows two checksum types for an object made of parts (``x-amz-checksum-type``):

- ``COMPOSITE``: the checksum of the concatenated binary part checksums, shown with a
  ``-N`` suffix (N parts). Every algorithm but CRC64NVME.
- ``FULL_OBJECT``: the checksum of the whole object's bytes. CRC32, CRC32C and CRC64NVME,
  whose values combine: the object's CRC is computed from the part CRCs and sizes
  (``sigv4.combine_crc``), never by reading the data again. CRC64NVME is FULL_OBJECT only,
  and its default; the other CRCs default to COMPOSITE (AWS's defaults).

The hashes (SHA1, SHA256, and the 2026 algorithms SHA512, MD5, XXHASH64, XXHASH3,
XXHASH128) do not combine, so they are COMPOSITE only. AWS documents that for SHA1 and
SHA256; for the 2026 five it documents no multipart rule, and COMPOSITE only is our
reading by analogy (``_TYPES``).

The algorithm and type are fixed by CreateMultipartUpload (``upload_checksum``); every
part must then carry a checksum of that algorithm (``check_part_algorithm``); the
completion's listed part checksums must be the stored ones and its whole-object value the
computed one (``completion_checksums``). A single PUT's checksum is FULL_OBJECT. The type
of a stored value needs no column: composite values, and only they, carry ``-N``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence

from backends.errors import BackendError
from backends.types import COMPOSITE, FULL_OBJECT, CompletionChecksums
from sigv4 import ALGORITHMS, Checksum, combine_crc, new_checksum

__all__ = [
    "CHECKSUM_TYPES",
    "carries_checksum",
    "check_part_algorithm",
    "checksum_type_of",
    "completion_checksums",
    "composite_value",
    "copy_checksum",
    "parse_checksum_type",
    "upload_checksum",
]

CHECKSUM_TYPES = (COMPOSITE, FULL_OBJECT)
_COMPOSITE_ONLY = (COMPOSITE,)
_TYPES: dict[str, tuple[str, ...]] = {
    "CRC32": (COMPOSITE, FULL_OBJECT),
    "CRC32C": (COMPOSITE, FULL_OBJECT),
    "CRC64NVME": (FULL_OBJECT,),
    "SHA1": _COMPOSITE_ONLY,
    "SHA256": _COMPOSITE_ONLY,
    "SHA512": _COMPOSITE_ONLY,
    "MD5": _COMPOSITE_ONLY,
    "XXHASH64": _COMPOSITE_ONLY,
    "XXHASH3": _COMPOSITE_ONLY,
    "XXHASH128": _COMPOSITE_ONLY,
}
"""Algorithm -> the multipart checksum types it allows, its default first. FULL_OBJECT
only where values combine (``sigv4.CRC_ALGORITHMS``); one entry per ``sigv4.ALGORITHMS``."""


def _invalid(message: str) -> BackendError:
    return BackendError("InvalidRequest", message)


def checksum_type_of(value: str) -> str:
    """The type of a stored checksum value: composite ones end in ``-N``."""
    return COMPOSITE if "-" in value else FULL_OBJECT


def parse_checksum_type(value: str | None) -> str | None:
    """``x-amz-checksum-type`` (case-insensitive), or None when absent."""
    if value is None:
        return None
    name = value.strip().upper()
    if name not in CHECKSUM_TYPES:
        raise _invalid("Value for x-amz-checksum-type header is invalid.")
    return name


def upload_checksum(algorithm: str | None, checksum_type: str | None) -> str | None:
    """The checksum type of a new upload (CreateMultipartUpload), by AWS's rules: the
    algorithm's default when none is given; InvalidRequest for a type without an
    algorithm or a pair S3 refuses."""
    if algorithm is None:
        if checksum_type is not None:
            raise _invalid(
                "The x-amz-checksum-type header can only be used with the "
                "x-amz-checksum-algorithm header."
            )
        return None
    allowed = _TYPES.get(algorithm)
    if allowed is None:
        raise _invalid(
            "Checksum algorithm provided is unsupported. Please try again with any of the "
            f"valid types: [{', '.join(ALGORITHMS)}]"
        )
    if checksum_type is None:
        return allowed[0]
    if checksum_type not in allowed:
        raise _invalid(
            f"The {checksum_type} checksum type cannot be used with the {algorithm.lower()} "
            "checksum algorithm."
        )
    return checksum_type


def check_part_algorithm(expected: str | None, sent: str | None) -> None:
    """A part of an upload created with a checksum algorithm must carry a checksum of
    that algorithm (header or trailer); a part of an upload without one may carry any."""
    if expected is None or sent == expected:
        return
    actual = "null" if sent is None else sent.lower()
    raise _invalid(
        f"Checksum Type mismatch occurred, expected checksum Type: {expected.lower()}, "
        f"actual checksum Type: {actual}"
    )


def composite_value(algorithm: str, values: Sequence[str]) -> str:
    """S3's composite checksum: the checksum (same algorithm) of the concatenated raw part
    checksums, ``-N``. At most 10,000 parts of at most 64 bytes: 640 KB hashed."""
    if COMPOSITE not in _TYPES.get(algorithm, ()):
        raise _invalid(f"The COMPOSITE checksum type cannot be used with {algorithm}")
    checksum = new_checksum(algorithm)
    checksum.update(b"".join(base64.b64decode(v) for v in values))
    return f"{checksum.b64digest()}-{len(values)}"


def carries_checksum(algorithm: str | None, checksums: Mapping[str, str]) -> bool:
    """Whether a CopyObject asking for ``algorithm`` (``x-amz-checksum-algorithm``; None:
    none asked) is answered by the source's checksums: none asked, or the source has a
    FULL_OBJECT value of that algorithm (the same bytes, so the same value). Otherwise S3
    computes that algorithm over the copy's bytes."""
    if algorithm is None:
        return True
    value = checksums.get(algorithm)
    return value is not None and checksum_type_of(value) == FULL_OBJECT


def copy_checksum(algorithm: str | None, checksums: Mapping[str, str]) -> Checksum | None:
    """The checksum a copy must compute over its bytes (None: it carries the source's)."""
    if algorithm is None or carries_checksum(algorithm, checksums):
        return None
    return new_checksum(algorithm)


def _same(sent: str, stored: str) -> bool:
    return sent.strip() == stored


def completion_checksums(
    algorithm: str | None,
    checksum_type: str | None,
    parts: Sequence[tuple[int, int, Mapping[str, str]]],
    request: CompletionChecksums | None,
) -> dict[str, str]:
    """The checksum of the object a completion makes, after checking the request.

    ``parts`` are the chosen parts as stored: (number, size, checksums). Raises
    ``InvalidPart`` when a listed part checksum is not the stored one, ``InvalidRequest``
    when the request does not fit the upload's algorithm and type (or a COMPOSITE
    completion leaves a part's checksum out, which S3 requires), ``BadDigest`` when the
    whole-object value sent is not the computed one. Returns ``{}`` for an upload without
    an algorithm.
    """
    req = request or CompletionChecksums()
    for number, _size, stored in parts:
        for name, sent in req.parts.get(number, {}).items():
            value = stored.get(name)
            if value is None and name != algorithm:
                continue  # a checksum the part was never given: nothing to compare
            if value is None or not _same(sent, value):
                raise BackendError(
                    "InvalidPart",
                    "One or more of the specified parts could not be found. The part may "
                    "not have been uploaded, or the specified entity tag may not match the "
                    "part's entity tag.",
                    extra={"PartNumber": str(number)},
                )
    if algorithm is None:
        if req.algorithm is not None or req.checksum_type is not None:
            raise _invalid(
                "The upload was created without a checksum algorithm: the complete request "
                "cannot name one (x-amz-checksum-*, x-amz-checksum-type)."
            )
        return {}
    if req.checksum_type is not None and req.checksum_type != checksum_type:
        raise _invalid(
            f"The upload was created using the {checksum_type} checksum mode. The complete "
            "request must use the same checksum mode."
        )
    if req.algorithm is not None and req.algorithm != algorithm:
        raise _invalid(
            f"The upload was created using a {algorithm.lower()} checksum. The complete "
            f"request must use the same checksum algorithm, not {req.algorithm.lower()}."
        )
    if checksum_type == COMPOSITE:
        for number, _size, _stored in parts:
            if algorithm not in req.parts.get(number, {}):
                raise _invalid(
                    f"The upload was created using a {algorithm.lower()} checksum. The "
                    "complete request must include the checksum for each part. It was "
                    f"missing for part {number} in the request."
                )
    values = [stored.get(algorithm) for _number, _size, stored in parts]
    known = [v for v in values if v is not None]
    if len(known) != len(values):
        return {}  # parts stored without it (written before the rule): no object checksum
    if checksum_type == COMPOSITE:
        value = composite_value(algorithm, known)
    else:
        value = combine_crc(
            algorithm, [(v, size) for v, (_n, size, _s) in zip(known, parts, strict=True)]
        )
    if req.value is not None:
        sent = req.value.strip()
        if sent != value and sent != value.partition("-")[0]:
            raise BackendError(
                "BadDigest",
                f"The {algorithm} you specified did not match the calculated checksum.",
            )
    return {algorithm: value}
