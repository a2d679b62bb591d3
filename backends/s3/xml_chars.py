"""Characters XML 1.0 forbids, in the upstream answers that name a key.

S3 writes a key holding a control character into its XML answers as a character
reference (``<Key>ctl&#x1;key</Key>``); some stores write the byte itself. XML 1.0 allows
neither, and botocore's parser refuses the whole answer: a CreateMultipartUpload that
succeeded upstream would read as a failure here, leaving an upload behind, a
CompleteMultipartUpload would complete an object the client is told failed, and one
such upload would make every upload of its bucket unlistable (and so never aborted by
the lifecycle sweeper).

In the answers of ``SANITIZED`` each such character (byte or reference) becomes U+FFFD,
as Go's XML encoder writes it, before botocore parses them. The first three name the key
the backend asked about and nothing it reads from that name. In ListMultipartUploads the
key is the answer: that upload is listed with U+FFFD in its name (as SeaweedFS lists it
itself), the others as they are; the object and version listings ask the store for
``encoding-type=url`` instead (docs/upstream-backend.md, "Listing").

Cost: nothing on the data path (the lean client's operations are not among these); a
name check per aiobotocore answer, one byte search per answer of these four operations.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from botocore.handlers import _handle_200_error

__all__ = ["SANITIZED", "register"]

SANITIZED = (
    "CreateMultipartUpload",
    "CompleteMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
)
"""Operations whose answers are made parsable."""

_FORBIDDEN = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]"
    rb"|&#[xX]0*(?:[0-8bBcCeEfF]|1[0-9a-fA-F]);"
    rb"|&#0*(?:[0-8]|1[1-24-9]|2[0-9]|3[01]);"
)
_REPLACEMENT = "\ufffd".encode()
_EVENT = "before-parse.s3.*"


def _parsable(response_dict: MutableMapping[str, Any], operation_model: Any, **_: Any) -> None:
    body = response_dict.get("body")
    if operation_model.name in SANITIZED and isinstance(body, bytes) and body:
        response_dict["body"] = _FORBIDDEN.sub(_REPLACEMENT, body)


def register(events: Any) -> None:
    """Hook the replacement into an aiobotocore client's ``before-parse`` events, ahead of
    botocore's ``_handle_200_error``: that handler turns a 200 whose body it cannot parse
    into a 500 (S3 can fail a request after its 200 went out), so it must see the body
    this one made parsable. botocore offers no way to register ahead of a handler: it is
    taken out and put back behind ours."""
    events.unregister(_EVENT, _handle_200_error)
    events.register_first(_EVENT, _parsable, unique_id="nfyio-xml-chars")
    events.register_first(_EVENT, _handle_200_error)
