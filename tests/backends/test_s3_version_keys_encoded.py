"""ListObjectVersions through the s3 backend keeps every entry whatever its key holds,
when the store URL-encodes keys as AWS does.

botocore asks for ``encoding-type=url`` and decodes the parsed keys with ``unquote_plus``
(AWS writes a space as ``+`` and ``+`` as ``%2B``); the backend's hook that records the
entries' order from the raw document must decode them the same way, or an entry whose
key it spells differently matches nothing parsed and drops out of the page. It decoded
with ``unquote`` once: every version of a key with a space was missing.
"""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, quote_plus, urlsplit

from backends.s3 import S3Backend, UpstreamConfig
from tests.backends.http1_servers import answer, raw_server, read_request

KEYS = ["a b", "c+d", "e%f", "g h+i%2B", "ü ñ/x"]


def _encoded(key: str) -> str:
    """A key as AWS encodes it in a listing with ``encoding-type=url`` (form encoding:
    a space is ``+``)."""
    return quote_plus(key, safe="/")


def _document() -> bytes:
    entries = "".join(
        f"<{kind}><Key>{_encoded(key)}</Key><VersionId>v{n}</VersionId><IsLatest>true</IsLatest>"
        "<LastModified>2026-01-01T00:00:00.000Z</LastModified>"
        + (
            ""
            if kind == "DeleteMarker"
            else '<ETag>"9dd4e461268c8034f5c8564e155c67a6"</ETag><Size>1</Size>'
            "<StorageClass>STANDARD</StorageClass>"
        )
        + f"</{kind}>"
        for n, key in enumerate(KEYS)
        for kind in ("DeleteMarker" if n % 2 else "Version",)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>bkt</Name><Prefix></Prefix><KeyMarker></KeyMarker><VersionIdMarker>"
        "</VersionIdMarker><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType>"
        f"<IsTruncated>false</IsTruncated>{entries}</ListVersionsResult>"
    ).encode()


async def test_every_version_is_listed_whatever_its_key_holds() -> None:
    asked: list[dict[str, list[str]]] = []

    async def store(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while (request := await read_request(reader)) is not None:
            asked.append(parse_qs(urlsplit(request.target).query, keep_blank_values=True))
            writer.write(answer(200, _document(), {"content-type": "application/xml"}))
            await writer.drain()

    async with raw_server(store) as server:
        backend = S3Backend(
            UpstreamConfig(
                endpoint_url=f"http://{server.authority}",
                access_key_id="AK",
                secret_access_key="SK",
                read_timeout=5.0,
                connect_timeout=1.0,
            )
        )
        await backend.start()
        try:
            page = await backend.list_object_versions("bkt")
        finally:
            await backend.close()
    assert asked and asked[0].get("encoding-type") == ["url"]
    listed = [(v.info.key, v.info.version_id, v.delete_marker) for v in page.versions]
    assert listed == [(key, f"v{n}", bool(n % 2)) for n, key in enumerate(KEYS)]
