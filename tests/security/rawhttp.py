"""Raw HTTP/1.1 over a socket: bodies of any size sent as generated, never held whole."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterable, Mapping

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import RawResponse


def send(
    gw: Gateway,
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: Iterable[bytes],
    *,
    length: int,
) -> RawResponse:
    """Send ``body`` (``length`` bytes in all) and read the answer. A server that answers
    early and stops reading may reset the connection: sending stops there and the answer
    is read all the same."""
    with socket.create_connection(("127.0.0.1", gw.s3_port), timeout=60) as sock:
        lines = [f"{method} {target} HTTP/1.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {length}", "Connection: close", "", ""]
        sock.sendall("\r\n".join(lines).encode("latin-1"))
        try:
            for piece in body:
                sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
        return RawResponse(response.status, dict(response.getheaders()), data)


def signed_unsigned_trailer_headers(
    gw: Gateway, path: str, decoded_length: int | str, trailer: str = "x-amz-checksum-crc32"
) -> dict[str, str]:
    """Header auth for an aws-chunked ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` PUT, signed by
    botocore as boto3 signs its uploads over HTTPS (every header signed);
    ``decoded_length`` as the header's text when it is one."""
    algorithm = trailer.removeprefix("x-amz-checksum-")
    request = AWSRequest(
        method="PUT",
        url=f"https://127.0.0.1:{gw.s3_port}{path}",
        headers={
            "Content-Encoding": "aws-chunked",
            "X-Amz-Trailer": trailer,
            "X-Amz-Decoded-Content-Length": str(decoded_length),
            "X-Amz-Sdk-Checksum-Algorithm": algorithm.upper(),
        },
    )
    request.context["checksum"] = {
        "request_algorithm": {"in": "trailer", "name": trailer, "algorithm": algorithm}
    }
    S3SigV4Auth(Credentials(gw.access_key, gw.secret_key), "s3", "us-east-1").add_auth(request)
    headers = {k: v for k, v in request.headers.items()}
    assert headers["X-Amz-Content-SHA256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    headers["Host"] = f"127.0.0.1:{gw.s3_port}"
    return headers


def exchange(
    gw: Gateway,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes = b"",
    *,
    port: int | None = None,
) -> RawResponse:
    """One request with exactly these header lines, a name repeated as often as it is
    given (``Host`` and ``Connection: close`` added; ``Content-Length`` too, unless a
    ``Transfer-Encoding`` is given, when ``body`` goes as it is), to the S3 listener or
    to ``port`` (``gw.api_port``)."""
    port = gw.s3_port if port is None else port
    lines = [f"{method} {target} HTTP/1.1"]
    pairs = list(headers)
    names = {name.lower() for name, _ in pairs}
    if "host" not in names:
        pairs.insert(0, ("Host", f"127.0.0.1:{port}"))
    if "transfer-encoding" not in names and "content-length" not in names:
        pairs.append(("Content-Length", str(len(body))))
    lines += [f"{name}: {value}" for name, value in pairs]
    lines += ["Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall("\r\n".join(lines).encode("latin-1") + body)
        response = http.client.HTTPResponse(sock)
        response.begin()
        data = response.read()
        return RawResponse(response.status, dict(response.getheaders()), data)
