"""The canonical owner every bucket and object reports (the gateway is one S3 account)."""

from __future__ import annotations

import hashlib

from gateway.s3.xml import XmlWriter

__all__ = ["OWNER_DISPLAY_NAME", "OWNER_ID", "write_owner"]

OWNER_ID = hashlib.sha256(b"nfyio-gateway owner").hexdigest()
OWNER_DISPLAY_NAME = "nfyio"


def write_owner(doc: XmlWriter, element: str = "Owner") -> None:
    doc.open(element)
    doc.el("ID", OWNER_ID)
    doc.el("DisplayName", OWNER_DISPLAY_NAME)
    doc.close(element)
