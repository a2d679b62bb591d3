"""The AWS SDK for JavaScript v3 (client-s3, lib-storage, s3-request-presigner) against the
gateway, configured exactly as the seed documents it.

The test installs the pinned packages itself (``npm ci`` from ``tests/e2e/js/package-lock.json``
into ``<repo>/.cache/js-sdk``, reused while the lock file's hash is unchanged), so it runs on
a fresh CI machine with node >= 20 and npm. Node scripts are ES modules; ESM ignores
NODE_PATH, so they are copied next to the installed ``node_modules`` and run from there.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway

REPO = Path(__file__).resolve().parents[2]
JS_DIR = Path(__file__).resolve().parent / "js"
EXAMPLE_DIR = REPO / "examples" / "js-sdk"
CACHE = Path(os.environ.get("NFYIO_JS_SDK_CACHE", REPO / ".cache" / "js-sdk"))
PACKAGES = ("@aws-sdk/client-s3", "@aws-sdk/lib-storage", "@aws-sdk/s3-request-presigner")
MiB = 1024 * 1024

NODE = shutil.which("node")
NPM = shutil.which("npm")


@pytest.fixture(autouse=True)
def _node_is_installed() -> None:
    """node and npm are part of the supported machine: fail loudly, never skip."""
    assert NODE is not None and NPM is not None, "node and npm are needed for these tests"


def _lock_hash() -> str:
    digest = hashlib.sha256()
    for name in ("package.json", "package-lock.json"):
        digest.update((JS_DIR / name).read_bytes())
    return digest.hexdigest()


def install_js_sdk() -> Path:
    """``npm ci`` the pinned SDK into the cache once per lock-file hash; returns the folder."""
    assert NPM is not None
    CACHE.mkdir(parents=True, exist_ok=True)
    stamp = CACHE / ".lock-sha256"
    wanted = _lock_hash()
    with (CACHE.parent / "js-sdk.install-lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)  # pytest-xdist workers install once between them
        if stamp.exists() and stamp.read_text() == wanted and (CACHE / "node_modules").is_dir():
            return CACHE
        stamp.unlink(missing_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(JS_DIR / name, CACHE / name)
        started = time.monotonic()
        result = subprocess.run(
            [NPM, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            cwd=CACHE,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
        print(f"npm ci of the JS SDK took {time.monotonic() - started:.1f}s")
        stamp.write_text(wanted)
    return CACHE


@pytest.fixture(scope="session")
def js_sdk() -> Iterator[Path]:
    yield install_js_sdk()


def run_node_script(
    install: Path, script: Path, gateway: Gateway, extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    assert NODE is not None
    run_dir = install / "run"
    run_dir.mkdir(exist_ok=True)
    target = run_dir / f"{uuid.uuid4().hex[:8]}-{script.name}"
    shutil.copyfile(script, target)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NFYIO_", "NODE_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": gateway.s3_url,
            "AWS_ACCESS_KEY_ID": gateway.access_key,
            "AWS_SECRET_ACCESS_KEY": gateway.secret_key,
            "AWS_REGION": "us-east-1",
            # Keep the host's ~/.aws out of the SDK's default chains.
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if gateway.tls_ca:
        env["NODE_EXTRA_CA_CERTS"] = gateway.tls_ca
    env.update(extra_env or {})
    try:
        return subprocess.run(
            [NODE, str(target)],
            cwd=run_dir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        target.unlink(missing_ok=True)


def _run_e2e(js_sdk: Path, gateway: Gateway) -> dict[str, Any]:
    bucket = f"js-{uuid.uuid4().hex[:16]}"
    result = run_node_script(js_sdk, JS_DIR / "s3_e2e.mjs", gateway, {"E2E_BUCKET": bucket})
    try:
        report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        pytest.fail(f"node printed no JSON (exit {result.returncode}):\n{result.stderr}")
    if result.returncode != 0 or "error" in report:
        pytest.fail(
            f"node script failed: {json.dumps(report.get('error'), indent=2)}\n"
            f"wire: {json.dumps(report.get('wire'), indent=1)}\nstderr:\n{result.stderr}\n"
            f"gateway log (tail):\n{gateway.log()[-4000:]}"
        )
    assert report["bucket"] == bucket
    return report


def _check_report(report: dict[str, Any]) -> None:
    bucket = report["bucket"]
    assert bucket in report["listBuckets"]
    assert report["owner"]

    text = report["text"]
    assert text["body"] == text["expected"]
    assert text["putETag"] == text["getETag"]
    expected_md5 = hashlib.md5(text["expected"].encode()).hexdigest()
    assert text["putETag"] == f'"{expected_md5}"'
    assert text["contentType"] == "text/plain; charset=utf-8"
    assert text["metadata"] == {"origin": "js-sdk"}

    assert report["streamed"]["gotSha256"] == report["streamed"]["sha256"]
    assert report["ranged"] == {
        "contentRange": f"bytes 10-19/{report['streamed']['size']}",
        "status": 206,
        "matches": True,
    }

    multipart = report["multipart"]
    assert multipart["size"] == 12 * MiB
    assert multipart["headSize"] == 12 * MiB
    assert multipart["gotSha256"] == multipart["sha256"]
    assert multipart["headETag"].endswith('-3"'), multipart
    assert multipart["uploadETag"] == multipart["headETag"]
    assert multipart["parts"] == [1, 2, 3]

    listing = report["list"]
    assert listing["keys"] == ["big/twelve.bin", "bin/streamed.bin", "docs/hello wörld ✓.txt"]
    assert listing["keyCount"] == 3
    assert listing["sizes"]["big/twelve.bin"] == 12 * MiB
    assert listing["prefixes"] == ["big/", "bin/", "docs/"]

    presigned = report["presignedGet"]
    assert "X-Amz-Signature=" in presigned["url"]
    assert presigned["status"] == 200
    assert presigned["body"] == text["expected"]
    assert report["presignedPut"] == {"status": 200, "body": "uploaded by URL"}
    assert report["presignedMetadata"] == {
        "hoisted": "presigned-url",  # in the query string, not a header
        "status": 200,
        "metadata": {"origin": "presigned-url", "owner": "browser"},
    }
    assert report["presignedAcl"] == {
        "hoisted": "public-read",
        "status": 200,
        "anonymousStatus": 200,
        "anonymousBody": "public by URL",
    }
    assert report["presignedWrongMethod"]["status"] == 403
    assert "SignatureDoesNotMatch" in report["presignedWrongMethod"]["body"]

    assert report["noSuchKey"] == {"name": "NoSuchKey", "status": 404}
    assert report["bucketGone"] is True


def _check_upload_modes(report: dict[str, Any]) -> None:
    """What JS SDK 3.11xx puts on the wire (on both transports): a buffered body carries an
    ``x-amz-checksum-crc32`` header with a signed payload hash; a streamed body goes as
    aws-chunked with ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` and the checksum in a trailer."""
    uploads = [
        w for w in report["wire"] if w["command"] in ("PutObjectCommand", "UploadPartCommand")
    ]
    trailer = [
        w["headers"]
        for w in uploads
        if w["headers"].get("x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    ]
    assert trailer, uploads
    assert all(h.get("content-encoding") == "aws-chunked" for h in trailer), trailer
    assert all(h.get("x-amz-trailer", "").startswith("x-amz-checksum-") for h in trailer), trailer
    assert any("x-amz-checksum-crc32" in w["headers"] for w in uploads), uploads


@pytest.mark.parametrize("transport", ["http", "https"])
def test_js_sdk(js_sdk: Path, transport: str, request: pytest.FixtureRequest) -> None:
    gateway: Gateway = request.getfixturevalue("gateway" if transport == "http" else "tls_gateway")
    report = _run_e2e(js_sdk, gateway)
    _check_report(report)
    _check_upload_modes(report)


def test_js_example_quickstart(js_sdk: Path, gateway: Gateway) -> None:
    """``examples/js-sdk/quickstart.mjs`` as a user runs it (with the test's node_modules)."""
    result = run_node_script(js_sdk, EXAMPLE_DIR / "quickstart.mjs", gateway)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}\n{gateway.log()[-3000:]}"
    assert "presigned GET ok" in result.stdout, result.stdout
    assert "cleaned up" in result.stdout, result.stdout


def test_example_and_test_pin_the_same_sdk() -> None:
    """The example's package.json must name the versions the tests run."""
    tested = json.loads((JS_DIR / "package.json").read_text())["dependencies"]
    example = json.loads((EXAMPLE_DIR / "package.json").read_text())["dependencies"]
    assert set(example) <= set(PACKAGES)
    for name, version in example.items():
        assert version == tested[name], name
    lock = json.loads((JS_DIR / "package-lock.json").read_text())
    for name in PACKAGES:
        assert lock["packages"][f"node_modules/{name}"]["version"] == tested[name]


@pytest.mark.parametrize("transport", ["http", "https"])
def test_js_versions_paging_full_object_checksum_and_presigned_odd_keys(
    js_sdk: Path, transport: str, request: pytest.FixtureRequest
) -> None:
    """``js/versions_checksums.mjs``: ListObjectVersions paged two at a time by
    key-marker and version-id-marker, DeleteObjects of every version, a short stream
    through lib-storage, a FULL_OBJECT CRC64NVME multipart upload read back with the
    SDK's checksum validation, presigned PUT and GET of a key that needs encoding."""
    gateway: Gateway = request.getfixturevalue("gateway" if transport == "http" else "tls_gateway")
    bucket = f"js-{uuid.uuid4().hex[:16]}"
    script = JS_DIR / "versions_checksums.mjs"
    result = run_node_script(js_sdk, script, gateway, {"E2E_BUCKET": bucket})
    lines = result.stdout.strip().splitlines()
    report: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    assert result.returncode == 0 and "error" not in report, (
        f"{report.get('error')}\n{result.stderr}\n{gateway.log()[-3000:]}"
    )

    # every version and the marker listed once, on pages of at most two entries
    pages = report["pages"]
    assert len(pages) == 5 and all(len(p["versions"]) + len(p["markers"]) <= 2 for p in pages)
    listed = sorted(tuple(e) for page in pages for e in page["versions"] + page["markers"])
    expected = [("a", report["marker"], True)]
    for key in ("a", "b b", "c+\u00fc"):
        ids = [version for name, version in report["written"] if name == key][::-1]
        expected += [(key, v, i == 0 and key != "a") for i, v in enumerate(ids)]
    assert listed == sorted(expected)
    assert report["deleted"] == 10 and report["deleteErrors"] == []
    assert report["pagesAfter"] == [{"versions": [], "markers": []}]

    assert report["smallStream"] is True
    full = report["fullObject"]
    assert full["completed"][1] == "FULL_OBJECT" and full["got"] == full["completed"], full
    assert full["same"] is True
    assert report["presigned"] == {
        "put": 200,
        "get": 200,
        "disposition": 'attachment; filename="a b.txt"',
        "body": "by URL",
    }
