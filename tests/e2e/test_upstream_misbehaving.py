"""The gateway (s3 backend) while its store misbehaves, driven by boto3 and raw HTTP.

- SeaweedFS of this module's own, killed and started again on the same ports and data:
  while it is down every request is S3's 503 with ``Retry-After`` and ``/ready`` is 503;
  an upload cut by its death leaves the previous object as it was; the first requests
  after the restart succeed (no stale pooled connection fails them); a download cut by its
  death reaches the client as a cut body, never as a complete-looking one.
- A scripted store (threads on a socket) for what a real store does not do: a success
  before the upload arrived, 429, a listing page that is a proxy's HTML.

tests/backends/test_s3_misbehaving_store.py has the same shapes against the lean client.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest
from botocore.exceptions import BotoCoreError, ClientError

from tests.e2e.conftest import upstream_env
from tests.e2e.gateway_process import Gateway, get_json, start_gateway
from tests.e2e.scripted_store import ScriptedStore, StoreRequest, gateway_before
from tests.services.seaweedfs import SeaweedFS, start_seaweedfs

MiB = 1024 * 1024
DEADLINE = 120.0  # seconds: generous, for a loaded 2-core machine


# -- SeaweedFS killed and started again ------------------------------------------------------


_PORT_TAKEN = "bind: address already in use"


class Restartable:
    """A ``weed server`` that can be killed and started again on its ports and data."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server: SeaweedFS = start_seaweedfs(directory)
        self._args = [str(arg) for arg in self.server.process.args]  # type: ignore[union-attr]
        self._starts = 0

    def kill(self) -> None:
        self.server.process.send_signal(signal.SIGKILL)
        self.server.process.wait(timeout=DEADLINE)

    def _spawn(self) -> None:
        self._starts += 1
        log = self.directory / f"weed-again-{self._starts}.log"
        with log.open("wb") as out:
            self.server.process = subprocess.Popen(
                self._args, stdout=out, stderr=subprocess.STDOUT, cwd=self.directory
            )
        self.server.log_path = log

    def start_again(self) -> None:
        self._spawn()
        client = self.server.client(connect_timeout=2, read_timeout=10)
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            if self.server.process.poll() is not None and _PORT_TAKEN in self.server.log():
                # While it was down, another process on this busy machine took one of
                # its ports (its gRPC ports are in the ephemeral range, where outgoing
                # connections pick theirs): they are given back soon; start it again.
                time.sleep(1)
                self._spawn()
                continue
            assert self.server.process.poll() is None, self.server.log()[-4000:]
            try:
                # the store serves its data again (its S3 API answers before its volume
                # server is back: a GET would still be a 500 then)
                client.get_object(Bucket=BUCKET, Key="old")["Body"].read()
                return
            except (BotoCoreError, ClientError, OSError):
                time.sleep(0.25)
        raise AssertionError(f"SeaweedFS did not come back:\n{self.server.log()[-4000:]}")


BUCKET = "outage"


@pytest.fixture(scope="module")
def store_and_gateway(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Restartable, Gateway]]:
    weed = Restartable(tmp_path_factory.mktemp("weed-restart"))
    server = weed.server
    env = upstream_env(server.endpoint_url, server.access_key, server.secret_key)
    gateway = start_gateway(tmp_path_factory.mktemp("gw-outage") / "data", extra_env=env)
    try:
        yield weed, gateway
    finally:
        gateway.stop()
        weed.server.stop()


def _refusal(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as refused:
        call()
    response: dict[str, Any] = refused.value.response
    return response


def _presigned(s3: Any, operation: str, **params: str) -> tuple[http.client.HTTPConnection, str]:
    url = urlsplit(s3.generate_presigned_url(operation, Params=params))
    assert url.hostname is not None
    return http.client.HTTPConnection(url.hostname, url.port, timeout=DEADLINE), (
        f"{url.path}?{url.query}"
    )


def test_a_store_killed_and_started_again(store_and_gateway: tuple[Restartable, Gateway]) -> None:
    weed, gw = store_and_gateway
    s3 = gw.client(read_timeout=DEADLINE)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="old", Body=b"the previous object")
    big = os.urandom(24 * MiB)
    s3.put_object(Bucket=BUCKET, Key="big", Body=big)
    assert s3.get_object(Bucket=BUCKET, Key="old")["Body"].read() == b"the previous object"

    # An upload (streamed: above the spool threshold) cut by the store's death.
    conn, target = _presigned(s3, "put_object", Bucket=BUCKET, Key="old")
    conn.putrequest("PUT", target)
    conn.putheader("Content-Length", str(len(big)))
    conn.endheaders()
    try:
        for offset in range(0, len(big), MiB):
            conn.send(big[offset : offset + MiB])
            if offset == 8 * MiB:
                weed.kill()
    except OSError:
        pass  # the gateway may answer and close before the whole body went out
    answer = conn.getresponse()
    document = answer.read()
    conn.close()
    assert answer.status == 503
    assert b"<Code>ServiceUnavailable</Code>" in document
    assert answer.getheader("Retry-After", "").isdigit()

    # While it is down: S3's 503 with Retry-After, whichever client serves the operation.
    for call in (
        lambda: s3.get_object(Bucket=BUCKET, Key="old"),
        lambda: s3.head_object(Bucket=BUCKET, Key="old"),
        lambda: s3.put_object(Bucket=BUCKET, Key="new", Body=b"x"),
        lambda: s3.list_objects_v2(Bucket=BUCKET),
        lambda: s3.create_bucket(Bucket="outage-other"),
        s3.list_buckets,
    ):
        response = _refusal(call)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert response["Error"]["Code"] in {"ServiceUnavailable", "SlowDown", "503"}
        assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"].isdigit()
    status, body = get_json(f"{gw.api_url}/ready")
    assert (status, body["checks"]["backend"]) == (503, "unavailable")
    down = time.monotonic()
    for _ in range(30):
        assert _refusal(s3.list_buckets)["ResponseMetadata"]["HTTPStatusCode"] == 503

    weed.start_again()
    # The first request of each kind succeeds: no pooled connection of the dead store
    # is handed out.
    assert s3.get_object(Bucket=BUCKET, Key="old")["Body"].read() == b"the previous object"
    assert s3.head_object(Bucket=BUCKET, Key="big")["ContentLength"] == len(big)
    s3.put_object(Bucket=BUCKET, Key="new", Body=b"after the restart")
    listed = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert listed == ["big", "new", "old"]
    assert get_json(f"{gw.api_url}/ready")[0] == 200
    _logged_as_one_outage(gw.log(), server=weed.server, lasted=time.monotonic() - down)

    # A download cut by the store's death: fewer bytes than its Content-Length, then the
    # end of the connection (boto3 raises), never a whole-looking body.
    got = s3.get_object(Bucket=BUCKET, Key="big")
    assert got["ContentLength"] == len(big)
    first = got["Body"].read(MiB)
    weed.kill()
    with pytest.raises(BotoCoreError):
        got["Body"].read()
    assert len(first) == MiB
    # The store going away mid-download is an outage: one warning line, no traceback.
    log = gw.log()
    assert "Traceback" not in log
    cut = [line for line in log.splitlines() if "body failed after the response" in line]
    assert cut and all("WARNING" in line and "ServiceUnavailable" in line for line in cut)


def _logged_as_one_outage(log: str, *, server: SeaweedFS, lasted: float) -> None:
    """The store's outage in the gateway's log (``backends.outage``): one line when it
    started, one when the store answered again ('... available again after D s (N
    failures)'), in between at most one line per 10 s, never one per request. The old
    code logged neither end of it."""
    what = f"the upstream store ({server.endpoint_url})"
    lines = log.splitlines()
    starts = [line for line in lines if f"{what} unavailable: " in line]
    periodic = [line for line in lines if f"{what} unavailable since " in line]
    ends = [line for line in lines if f"{what} available again after " in line]
    assert len(starts) == 1 and len(ends) == 1, log[-8000:]
    assert log.index(starts[0]) < log.index(ends[0])
    assert len(periodic) <= 1 + lasted // 10, periodic
    failures = int(ends[0].rsplit("(", 1)[1].split()[0])
    assert failures >= 30, ends  # the refused requests were counted, not logged


# -- a scripted store -----------------------------------------------------------------------

UPSTREAM_KEY = "AKIDUPSTREAMSECRETID1"
UPSTREAM_SECRET = "upstream-secret-that-must-never-show"


class _Store(ScriptedStore):
    """Each request answered by the behaviour of its kind."""

    def answer(self, request: StoreRequest) -> bool:
        method, segments = request.method, request.segments
        if method == "PUT" and segments[-1:] == ["refused-early"]:
            # refuses the upload at its head (out of space), reads no body
            error = b"<Error><Code>InsufficientStorage</Code><Message>full</Message></Error>"
            self.sock.sendall(
                b"HTTP/1.1 507 Insufficient Storage\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (len(error), error)
            )
            return False
        if method == "PUT" and len(segments) == 2:
            # takes 1 MiB of the upload, then says it stored the object
            self.read_body(request, MiB)
            self.sock.sendall(
                b'HTTP/1.1 200 OK\r\nETag: "0123456789abcdef0123456789abcdef"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return False
        self.read_body(request)
        self.sock.sendall(_answer(method, segments, request.query))
        return True


def _answer(method: str, segments: list[str], query: str) -> bytes:
    if method == "HEAD" and len(segments) == 1:  # HeadBucket before CreateBucket: none yet
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    if method == "GET" and "list-type=2" in query:  # a proxy's page, answered 200
        page = b"<html><body>Please sign in to the proxy</body></html>"
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(page), page)
    if method == "GET" and len(segments) == 2:  # too many requests, without a body
        return b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n"
    return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


@pytest.fixture(scope="module")
def scripted_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, str]]:
    data = tmp_path_factory.mktemp("gw-scripted") / "data"
    with gateway_before(
        _Store, data, access_key=UPSTREAM_KEY, secret_key=UPSTREAM_SECRET
    ) as running:
        yield running


def test_a_scripted_store_in_trouble_gets_s3_errors_that_name_nothing_upstream(
    scripted_gateway: tuple[Gateway, str],
) -> None:
    gw, endpoint = scripted_gateway
    s3 = gw.client(read_timeout=DEADLINE)
    bucket = f"scripted-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    refusals = {
        # the store claims a 16 MiB object stored after taking 1 MiB of it
        "early success": _refusal(
            lambda: s3.put_object(Bucket=bucket, Key="k", Body=os.urandom(16 * MiB))
        ),
        # a listing page that is no listing: never an empty bucket
        "html listing": _refusal(lambda: s3.list_objects_v2(Bucket=bucket)),
        "429": _refusal(lambda: s3.get_object(Bucket=bucket, Key="k")),
    }
    codes = {name: r["Error"]["Code"] for name, r in refusals.items()}
    assert codes == {
        "early success": "ServiceUnavailable",
        "html listing": "ServiceUnavailable",
        "429": "SlowDown",
    }
    for response in refusals.values():
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert response["ResponseMetadata"]["HTTPHeaders"]["retry-after"].isdigit()
        shown = repr(response["Error"])
        assert endpoint.split("//")[1] not in shown
        assert UPSTREAM_KEY not in shown
    log = gw.log()
    assert UPSTREAM_SECRET not in log
    assert "Traceback" not in log


def test_a_store_refusing_an_upload_at_its_head_is_answered_before_the_body_arrived(
    scripted_gateway: tuple[Gateway, str],
) -> None:
    """The store answers 507 to the head of a streamed PUT: the client gets the 503 after
    sending 1 MiB of the 64 MiB it announced, not after its whole body (it would wait
    for ever here: the rest is never sent)."""
    gw, _ = scripted_gateway
    s3 = gw.client(read_timeout=DEADLINE)
    bucket = f"scripted-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    conn, target = _presigned(s3, "put_object", Bucket=bucket, Key="refused-early")
    conn.putrequest("PUT", target)
    conn.putheader("Content-Length", str(64 * MiB))
    conn.endheaders()
    conn.send(os.urandom(MiB))
    answer = conn.getresponse()  # bounded by DEADLINE: a gateway that waits fails here
    document = answer.read()
    conn.close()
    assert answer.status == 503
    assert b"<Code>ServiceUnavailable</Code>" in document
    assert answer.getheader("Retry-After", "").isdigit()


# -- a store that stops taking an upload -------------------------------------------------

UPLOAD = 64 * MiB
"""Far more than the socket buffers between client, gateway and store hold."""


class _Staller(ScriptedStore):
    """Takes the first MiB of an upload to ``early-answer`` (after a ``100 Continue``
    when asked), answers S3's
    ``EntityTooLarge`` (keep-alive) half a second later, then neither reads nor closes;
    takes the first MiB of an upload to ``no-answer`` and then nothing, nor answers. Once
    ``release`` is set it reads what is left until the gateway's end and notes in
    ``received`` how much came in all."""

    release = threading.Event()
    received: dict[str, int] = {}
    gateway_ports: dict[str, int] = {}
    """The gateway's local port of each upload's connection, by key."""

    def answer(self, request: StoreRequest) -> bool:
        key = "".join(request.segments[1:])
        if request.method != "PUT" or key not in ("early-answer", "no-answer"):
            self.read_body(request)
            self.sock.sendall(_answer(request.method, request.segments, request.query))
            return True
        if request.headers.get("expect") == "100-continue":  # aiohttp's, under aiobotocore
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        got = len(self.pending)  # the first MiB as it came (aws-chunked framing or not)
        while got < MiB and (chunk := self.sock.recv(MiB - got)):
            got += len(chunk)
        self.gateway_ports[key] = self.sock.getpeername()[1]
        if key == "early-answer":
            time.sleep(0.5)  # the gateway fills the buffers meanwhile: the answer passes either way
            error = b"<Error><Code>EntityTooLarge</Code><Message>too big</Message></Error>"
            self.sock.sendall(
                b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(error), error)
            )
        self.release.wait(DEADLINE)
        self.sock.settimeout(DEADLINE)
        try:
            while chunk := self.sock.recv(MiB):
                got += len(chunk)
        finally:
            self.received[key] = got
        return False


@pytest.fixture(scope="module", params=["lean", "aiobotocore"])
def stalling_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    env = {"NFYIO_UPSTREAM_READ_TIMEOUT": "3"}
    if request.param == "aiobotocore":  # when_supported checksums are aiobotocore's
        env["NFYIO_UPSTREAM_REQUEST_CHECKSUM_CALCULATION"] = "when_supported"
    data = tmp_path_factory.mktemp(f"gw-stalling-{request.param}") / "data"
    with gateway_before(_Staller, data, extra_env=env) as (gateway, _):
        yield gateway


def _upload_until_answered(gw: Gateway, key: str) -> tuple[int, bytes]:
    """A presigned PUT of ``UPLOAD`` bytes sent from a thread until the gateway answers
    (or stops reading): the answer's status and document."""
    s3 = gw.client(read_timeout=DEADLINE)
    bucket = f"stalling-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    conn, target = _presigned(s3, "put_object", Bucket=bucket, Key=key)
    conn.putrequest("PUT", target)
    conn.putheader("Content-Length", str(UPLOAD))
    conn.endheaders()
    sock = conn.sock
    assert sock is not None

    def send() -> None:
        chunk = b"s" * MiB
        with contextlib.suppress(OSError):  # the gateway answered and hung up
            for _ in range(UPLOAD // MiB):
                sock.sendall(chunk)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        answer = conn.getresponse()  # bounded by DEADLINE: a gateway that waits fails here
        document = answer.read()
    finally:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        sender.join(DEADLINE)
    return answer.status, document


def _received_by_the_store(key: str) -> int:
    _Staller.release.set()
    deadline = time.monotonic() + DEADLINE
    while key not in _Staller.received and time.monotonic() < deadline:
        time.sleep(0.05)  # the store reads until the gateway's end of the connection
    return _Staller.received[key]


def _closed_by_the_gateway(gw: Gateway, key: str) -> bool:
    """Whether the gateway closed its socket of ``key``'s upload connection while the
    store still reads nothing, waiting up to ``DEADLINE``. Seen from the gateway's
    processes: the store's end cannot tell, its window is shut (the gateway's FIN waits
    behind the bytes the store does not read)."""
    port = _Staller.gateway_ports[key]
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        gateway = psutil.Process(gw.pid())
        processes = [gateway, *gateway.children(recursive=True)]
        if not any(
            held.laddr and held.laddr.port == port
            for process in processes
            for held in process.net_connections("tcp")
        ):
            return True
        time.sleep(0.05)
    return False


def test_an_early_answer_from_a_store_that_then_takes_nothing_reaches_the_client(
    stalling_gateway: Gateway,
) -> None:
    """The store refuses the upload after its first MiB and then neither reads on nor
    closes: the client gets the store's refusal (mapped as ever), not a wait without end
    (the transport waited for ever to send more body) nor a timeout; the gateway closes
    its connection to the store with the unsent bytes (before, on the aiobotocore path,
    aiohttp closed it gently: asyncio kept the socket open until its buffer drained,
    which it never did while the store read nothing); the rest of the body never
    reaches the store."""
    _Staller.release.clear()
    status, document = _upload_until_answered(stalling_gateway, "early-answer")
    assert status == 400, document
    assert b"<Code>EntityTooLarge</Code>" in document
    assert _closed_by_the_gateway(stalling_gateway, "early-answer")
    assert _received_by_the_store("early-answer") < UPLOAD
    assert "Traceback" not in stalling_gateway.log()


def test_a_store_that_stops_taking_an_upload_is_a_service_unavailable(
    stalling_gateway: Gateway,
) -> None:
    """The store takes the first MiB, then nothing, and never answers: the upstream
    read timeout (``backend.read_timeout``, here 3 s: no byte taken nor sent for that
    long) ends the upload with S3's 503; the store never got the whole body."""
    _Staller.release.clear()
    status, document = _upload_until_answered(stalling_gateway, "no-answer")
    assert status == 503, document
    assert b"<Code>ServiceUnavailable</Code>" in document
    assert _received_by_the_store("no-answer") < UPLOAD
    assert "Traceback" not in stalling_gateway.log()


@pytest.fixture(scope="module", params=["lean", "aiobotocore"])
def spooling_gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Every upload of ``UPLOAD`` bytes received whole first (spooled to a file), then
    sent upstream; ``aiobotocore``: through it (auto addressing leaves the lean client
    out)."""
    env = {"NFYIO_UPSTREAM_READ_TIMEOUT": "3", "NFYIO_UPSTREAM_SPOOL_THRESHOLD": str(2 * UPLOAD)}
    if request.param == "aiobotocore":
        env["NFYIO_UPSTREAM_ADDRESSING_STYLE"] = "auto"
    data = tmp_path_factory.mktemp(f"gw-spooling-{request.param}") / "data"
    with gateway_before(_Staller, data, extra_env=env) as (gateway, _):
        yield gateway


def test_a_store_that_stops_taking_a_spooled_upload_is_a_service_unavailable(
    spooling_gateway: Gateway,
) -> None:
    """As above for a body received whole before it is sent (a small one, or one of
    unknown length; here of a size the spool keeps in a file). Before, on the aiobotocore
    path nothing timed its sending (aiohttp's read timeout starts once the body is
    written): the upload waited for as long as the store took nothing."""
    _Staller.release.clear()
    _Staller.received.pop("no-answer", None)  # an earlier upload's
    status, document = _upload_until_answered(spooling_gateway, "no-answer")
    assert status == 503, document
    assert b"<Code>ServiceUnavailable</Code>" in document
    assert _received_by_the_store("no-answer") < UPLOAD
    assert "Traceback" not in spooling_gateway.log()
