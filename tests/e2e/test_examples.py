"""The scripts in ``examples/`` run unchanged against a real gateway, so they cannot rot.

Each example reads ``AWS_ENDPOINT_URL`` (default http://localhost:7007, what ``make run``
serves) and the credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Over HTTPS the
trustme CA reaches boto3 through AWS_CA_BUNDLE, urllib through SSL_CERT_FILE and curl through
the script's ``--cacert "$AWS_CA_BUNDLE"``. The JavaScript example runs in test_js_sdk.py,
which has the SDK installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.e2e.gateway_process import Gateway

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
VENV_BIN = os.path.dirname(sys.executable)


@pytest.fixture(params=["http", "https"])
def example_gateway(request: pytest.FixtureRequest) -> Gateway:
    gateway: Gateway = request.getfixturevalue(
        "gateway" if request.param == "http" else "tls_gateway"
    )
    return gateway


def run_example(
    command: list[str], gateway: Gateway, home: Path, bucket: str | None = None
) -> subprocess.CompletedProcess[str]:
    home.mkdir(exist_ok=True)
    (home / "config").write_text("")
    (home / "credentials").write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "NFYIO_"))}
    env.update(
        {
            "AWS_ENDPOINT_URL": gateway.s3_url,
            "NFYIO_API_URL": gateway.api_url,
            "NFYIO_BUCKET": bucket or f"ex-{uuid.uuid4().hex[:16]}",
            "AWS_ACCESS_KEY_ID": gateway.access_key,
            "AWS_SECRET_ACCESS_KEY": gateway.secret_key,
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            "HOME": str(home),
            "PATH": VENV_BIN + os.pathsep + env.get("PATH", os.defpath),
            "PYTHONWARNINGS": "ignore",
        }
    )
    if gateway.tls_ca:
        env["AWS_CA_BUNDLE"] = gateway.tls_ca
        env["SSL_CERT_FILE"] = gateway.tls_ca
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180, cwd=home)
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\nstdout:\n{result.stdout}\n"
        f"stderr:\n{result.stderr}\ngateway log (tail):\n{gateway.log()[-3000:]}"
    )
    return result


def _bucket_gone(gateway: Gateway, bucket: str) -> bool:
    names = [b["Name"] for b in gateway.client().list_buckets()["Buckets"]]
    return bucket not in names


def test_boto3_quickstart(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-boto3-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "boto3_quickstart.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert f"created bucket {bucket}" in out
    assert "got hello.txt: b'Hello, nfyio!\\n'" in out
    etag_line = next(line for line in out.splitlines() if "multipart upload done" in line)
    assert etag_line.endswith('-3"'), etag_line  # 12 MiB in 5 MiB parts
    assert "bytes match" in out
    assert "presigned GET ok" in out
    assert f"cleaned up {bucket}" in out
    assert _bucket_gone(example_gateway, bucket)


def test_presigned_urls(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-presign-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "presigned-urls.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert "presigned PUT -> 200" in out
    assert "presigned GET -> 200, text/plain" in out
    assert "PUT with the GET URL -> 403" in out
    assert f"cleaned up {bucket}" in out
    assert _bucket_gone(example_gateway, bucket)


def test_restore_version(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-versions-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "restore-version.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert f"versioning Enabled on {bucket}" in out
    assert "GET now answers NoSuchKey" in out
    assert out.count("  version ") == 2 and out.count("  delete marker ") == 1
    restored = next(line for line in out.splitlines() if line.startswith("restored "))
    assert restored.endswith("""b'{"mode": "safe"}\\n'"""), restored
    assert f"cleaned up {bucket}" in out
    assert _bucket_gone(example_gateway, bucket)


def test_public_website(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-site-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "public-website.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert "before the policy, anonymous GET index.html -> 403" in out
    assert "policy status: IsPublic=True" in out
    assert "anonymous GET index.html -> 200 b'<h1>Hello from nfyio</h1>\\n'" in out
    assert "anonymous PUT evil.html -> 403" in out
    assert "with a public access block, anonymous GET index.html -> 403" in out
    assert f"cleaned up {bucket}" in out
    assert _bucket_gone(example_gateway, bucket)


def test_cross_account_share(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-share-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "cross-account-share.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert "partner before the policy: AccessDenied" in out
    assert "partner reads shared/report.csv: b'quarter,revenue\\nq1,42\\n'" in out
    assert "partner lists shared/: ['shared/report.csv']" in out
    assert "partner reads private/salaries.csv: AccessDenied" in out
    assert "partner lists the whole bucket: AccessDenied" in out
    assert "partner writes shared/x: AccessDenied" in out
    # ListBuckets lists the caller's own account's buckets, as AWS does
    assert "partner's ListBuckets shows it: False" in out
    assert "cleaned up" in out
    assert _bucket_gone(example_gateway, bucket)


def test_aws_cli_script(example_gateway: Gateway, tmp_path: Path) -> None:
    # awscli is a test dependency (pyproject) and curl is on every supported machine: a
    # missing one is a broken setup, which must fail here rather than skip.
    assert shutil.which("aws", path=VENV_BIN), "the aws CLI is missing from the venv"
    assert shutil.which("curl"), "curl is missing"
    bucket = f"ex-cli-{uuid.uuid4().hex[:12]}"
    result = run_example(
        ["bash", str(EXAMPLES / "aws-cli.sh")], example_gateway, tmp_path / "home", bucket
    )
    out = result.stdout
    assert f"make_bucket: {bucket}" in out
    assert out.count("upload:") == 4, out  # hello.txt + three site files; the 2nd sync is a no-op
    assert "Total Objects: 4" in out
    assert "X-Amz-Signature=" in out
    assert "presigned GET ok" in out
    assert f"remove_bucket: {bucket}" in out
    assert out.rstrip().endswith("done")
    assert _bucket_gone(example_gateway, bucket)


def test_tagging_and_lifecycle_script(example_gateway: Gateway, tmp_path: Path) -> None:
    assert shutil.which("aws", path=VENV_BIN), "the aws CLI is missing from the venv"
    bucket = f"ex-tags-{uuid.uuid4().hex[:12]}"
    result = run_example(
        ["bash", str(EXAMPLES / "tagging-and-lifecycle.sh")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert "TAGSET\tclass\tscratch" in out, out
    assert "TAGSET\tretention\tlong" in out and "TAGSET\tteam\tfinance" in out
    assert "TAGSET\towner\tops" in out and "TAGSET\tproject\tdemo" in out
    assert "expire-scratch\ttmp-after-a-week\told-versions-and-uploads" in out
    assert 'rule-id="expire-scratch"' in out  # the one-day rule expires it first
    assert out.rstrip().endswith("done")
    assert _bucket_gone(example_gateway, bucket)


def test_boto3_default_presigned_url(gateway: Gateway) -> None:
    """What a boto3 user gets without ``signature_version='s3v4'``: a SigV2 presigned URL,
    which AWS S3 accepts and so does the gateway (GET and PUT; expired and tampered refused)."""
    bucket = f"ex-v2-{uuid.uuid4().hex[:12]}"
    gateway.client().create_bucket(Bucket=bucket)
    s3 = boto3.client(
        "s3",
        endpoint_url=gateway.s3_url,
        aws_access_key_id=gateway.access_key,
        aws_secret_access_key=gateway.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.put_object(Bucket=bucket, Key="k.txt", Body=b"sigv2")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k.txt"})
    assert "AWSAccessKeyId=" in url  # botocore's legacy default
    with urllib.request.urlopen(url, timeout=30) as response:
        assert response.read() == b"sigv2"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "up.txt"})
    request = urllib.request.Request(put_url, data=b"uploaded", method="PUT")
    request.add_header("Content-Type", "")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"uploaded"
    tampered = url.replace("k.txt", "up.txt")
    with pytest.raises(urllib.error.HTTPError) as denied:
        urllib.request.urlopen(tampered, timeout=30)
    assert denied.value.code == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in denied.value.read()
    expired = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k.txt"}, ExpiresIn=-10
    )
    with pytest.raises(urllib.error.HTTPError) as late:
        urllib.request.urlopen(expired, timeout=30)
    assert late.value.code == 403
    assert b"<Code>AccessDenied</Code>" in late.value.read()


def test_object_attributes_script(example_gateway: Gateway, tmp_path: Path) -> None:
    assert shutil.which("aws", path=VENV_BIN), "the aws CLI is missing from the venv"
    bucket = f"ex-attrs-{uuid.uuid4().hex[:12]}"
    result = run_example(
        ["bash", str(EXAMPLES / "object-attributes.sh")], example_gateway, tmp_path / "home", bucket
    )
    lines = result.stdout.splitlines()
    assert "PreconditionFailed" in lines  # the second create-only PUT
    assert any(line.startswith('replaced "') for line in lines)
    assert "size 12582912" in lines
    assert "parts 2" in lines  # 8 MiB parts of the CLI's transfer manager
    assert "checksum type COMPOSITE" in lines
    assert lines[lines.index("checksum type COMPOSITE") + 1] == "2"  # the page after part 1
    assert result.stdout.rstrip().endswith("done")
    assert _bucket_gone(example_gateway, bucket)


def test_rclone_script(example_gateway: Gateway, tmp_path: Path) -> None:
    assert shutil.which("rclone", path=VENV_BIN), "rclone is missing from the venv"
    bucket = f"ex-rclone-{uuid.uuid4().hex[:12]}"
    result = run_example(
        ["bash", str(EXAMPLES / "rclone.sh")], example_gateway, tmp_path / "home", bucket
    )
    out = result.stdout
    assert "0 differences found" in result.stderr, result.stderr
    assert " 12000000 photos/2026/big.bin" in out and "photos/hello.txt" in out
    synced = out.split("removes it remotely too\n", 1)[1].split("==", 1)[0]
    assert synced.split() == ["photos/2026/big.bin"], synced  # hello.txt deleted remotely
    sums = [line.split() for line in out.splitlines() if line.endswith("big.bin")][-2:]
    assert {path for _, path in sums} == {"photos/2026/big.bin", "backup/big.bin"}
    assert sums[0][0] == sums[1][0], sums  # the server-side copy has the same MD5
    assert out.rstrip().endswith("done")
    assert _bucket_gone(example_gateway, bucket)


def test_duckdb_parquet(example_gateway: Gateway, tmp_path: Path) -> None:
    bucket = f"ex-duckdb-{uuid.uuid4().hex[:12]}"
    result = run_example(
        [sys.executable, str(EXAMPLES / "duckdb-parquet.py")],
        example_gateway,
        tmp_path / "home",
        bucket,
    )
    out = result.stdout
    assert f"created bucket {bucket}" in out
    assert "wrote 7 Parquet files" in out
    counts = [
        int(line.rsplit(": ", 1)[1].split()[0]) for line in out.splitlines() if "day " in line
    ]
    assert counts == [len(range(day, 100_000, 7)) for day in range(7)]  # ids 0-99,999 by id % 7
    assert f"cleaned up {bucket}" in out
    assert _bucket_gone(example_gateway, bucket)
