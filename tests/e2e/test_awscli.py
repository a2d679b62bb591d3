"""The real ``aws`` CLI (the venv's awscli) against the running gateway.

Every command runs as a subprocess with an isolated environment: credentials and region from
variables, ``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` pointed at empty files so
nothing from the host's ``~/.aws`` leaks in, and ``--endpoint-url`` on every call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway

AWS = shutil.which("aws", path=os.path.dirname(sys.executable))


@pytest.fixture(autouse=True)
def _aws_cli_is_installed() -> None:
    """awscli is a test dependency in pyproject.toml: fail loudly, never skip."""
    assert AWS is not None, "the aws CLI is not installed in the venv"


MiB = 1024 * 1024

# A tree with nested directories, unicode and spaces in names (all NFC).
TREE: dict[str, bytes] = {
    "top.txt": b"top level\n",
    "with space.txt": b"a name with a space\n",
    "dir one/inner file.txt": b"inside a spaced dir\n",
    "nested/deep/er/data.bin": bytes(range(256)) * 64,
    "nested/deep/empty.txt": b"",
    "ünïcødé/файл ✓.txt": "unicode content ✓\n".encode(),
    "ünïcødé/日本語/テスト.md": "# テスト\n".encode(),
}


class AwsCli:
    """Runs ``aws`` against one gateway with an environment nothing else can influence."""

    def __init__(self, gateway: Gateway, home: Path, binary: str | None = None) -> None:
        """``binary``: another ``aws`` executable (Debian's v2); the venv's v1 by default."""
        assert AWS is not None
        self.binary = binary or AWS
        self.gateway = gateway
        config = home / "config"
        credentials = home / "credentials"
        config.write_text("")
        credentials.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            {
                "AWS_ACCESS_KEY_ID": gateway.access_key,
                "AWS_SECRET_ACCESS_KEY": gateway.secret_key,
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_CONFIG_FILE": str(config),
                "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_PAGER": "",
                "HOME": str(home),
                "PYTHONWARNINGS": "ignore",
            }
        )
        self.env = env
        self.config = config

    def use_sigv4_presign(self) -> None:
        """What aws-cli v2 does by default (awscli v1 presigns with SigV2 in us-east-1)."""
        self.config.write_text("[default]\ns3 =\n    signature_version = s3v4\n")

    def __call__(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *args, "--endpoint-url", self.gateway.s3_url]
        if self.gateway.tls_ca:
            command += ["--ca-bundle", self.gateway.tls_ca]
        result = subprocess.run(
            command,
            env=self.env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
        )
        if check and result.returncode != 0:
            pytest.fail(
                f"aws {' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}\n"
                f"gateway log (tail):\n{self.gateway.log()[-4000:]}"
            )
        return result

    def json(self, *args: str) -> Any:
        out = self(*args, "--output", "json").stdout
        return json.loads(out) if out.strip() else {}


def _bucket_name() -> str:
    return f"cli-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def cli(gateway: Gateway, tmp_path: Path) -> AwsCli:
    home = tmp_path / "aws-home"
    home.mkdir()
    return AwsCli(gateway, home)


@pytest.fixture
def tls_cli(tls_gateway: Gateway, tmp_path: Path) -> AwsCli:
    home = tmp_path / "aws-home-tls"
    home.mkdir()
    return AwsCli(tls_gateway, home)


@pytest.fixture
def cli_bucket(cli: AwsCli) -> str:
    name = _bucket_name()
    result = cli("s3", "mb", f"s3://{name}")
    assert f"make_bucket: {name}" in result.stdout
    return name


def _write_tree(root: Path) -> None:
    """TREE under ``root``, written a minute ago: S3 keeps LastModified to the second, so
    ``sync`` uploads again a file written in the second of its upload (it looks newer
    than its copy), on AWS as here."""
    written = time.time() - 60
    for rel, data in TREE.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (written, written))


def _read_tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _list_keys(cli: AwsCli, bucket: str) -> list[str]:
    listing = cli.json("s3api", "list-objects-v2", "--bucket", bucket)
    return [o["Key"] for o in listing.get("Contents", [])]


def _roundtrip_cp(cli: AwsCli, bucket: str, tmp_path: Path) -> None:
    small = tmp_path / "small.txt"
    small.write_bytes(b"hello from the aws cli\n")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 * MiB + 12345))  # > 8 MiB: the CLI goes multipart

    out = cli("s3", "cp", str(small), f"s3://{bucket}/small.txt").stdout
    assert "upload: " in out and out.rstrip().endswith(f" to s3://{bucket}/small.txt"), out
    out = cli("s3", "cp", str(big), f"s3://{bucket}/dir/big.bin").stdout
    assert f"s3://{bucket}/dir/big.bin" in out

    head = cli.json("s3api", "head-object", "--bucket", bucket, "--key", "dir/big.bin")
    assert head["ContentLength"] == big.stat().st_size
    # The CLI's 8 MiB threshold and chunk size: two parts, so a multipart ETag.
    assert head["ETag"].startswith('"') and head["ETag"].endswith('-2"'), head["ETag"]
    assert "PartsCount" not in head, head  # S3 tells it to a read of one part only

    down = tmp_path / "down"
    down.mkdir()
    cli("s3", "cp", f"s3://{bucket}/small.txt", str(down / "small.txt"))
    cli("s3", "cp", f"s3://{bucket}/dir/big.bin", str(down / "big.bin"))
    assert (down / "small.txt").read_bytes() == small.read_bytes()
    assert hashlib.sha256((down / "big.bin").read_bytes()).digest() == (
        hashlib.sha256(big.read_bytes()).digest()
    )


def test_mb_cp_small_and_multipart_roundtrip(cli: AwsCli, tmp_path: Path) -> None:
    bucket = _bucket_name()
    assert f"make_bucket: {bucket}" in cli("s3", "mb", f"s3://{bucket}").stdout
    _roundtrip_cp(cli, bucket, tmp_path)
    assert sorted(_list_keys(cli, bucket)) == ["dir/big.bin", "small.txt"]
    part = cli.json(
        "s3api", "head-object", "--bucket", bucket, "--key", "dir/big.bin", "--part-number", "2"
    )
    assert (part["PartsCount"], part["ContentLength"]) == (2, 9 * MiB + 12345 - 8 * MiB)


def test_cp_roundtrip_over_https(tls_cli: AwsCli, tmp_path: Path) -> None:
    """Over HTTPS the CLI's uploads may use aws-chunked bodies with checksum trailers."""
    bucket = _bucket_name()
    tls_cli("s3", "mb", f"s3://{bucket}")
    _roundtrip_cp(tls_cli, bucket, tmp_path)
    # Prove the trailer path ran: the CLI's own debug log shows the payload mode it signed.
    probe = tmp_path / "probe.txt"
    probe.write_bytes(b"trailer probe\n" * 100)
    debug = tls_cli("--debug", "s3", "cp", str(probe), f"s3://{bucket}/probe.txt").stderr
    assert "STREAMING-UNSIGNED-PAYLOAD-TRAILER" in debug
    back = tmp_path / "probe.back"
    tls_cli("s3", "cp", f"s3://{bucket}/probe.txt", str(back))
    assert back.read_bytes() == probe.read_bytes()  # no chunk framing stored
    tls_cli("s3", "rb", f"s3://{bucket}", "--force")


def test_mb_existing_bucket_fails(cli: AwsCli, cli_bucket: str) -> None:
    result = cli("s3", "mb", f"s3://{cli_bucket}", check=False)
    assert result.returncode != 0
    assert "BucketAlreadyOwnedByYou" in result.stderr or "BucketAlreadyExists" in result.stderr


def test_sync_up_down_and_again(cli: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write_tree(src)
    out = cli("s3", "sync", str(src), f"s3://{cli_bucket}/tree").stdout
    assert out.count("upload:") == len(TREE), out
    assert sorted(_list_keys(cli, cli_bucket)) == sorted(f"tree/{k}" for k in TREE)

    dst = tmp_path / "dst"
    out = cli("s3", "sync", f"s3://{cli_bucket}/tree", str(dst)).stdout
    assert out.count("download:") == len(TREE), out
    assert _read_tree(dst) == TREE

    # Nothing changed: neither direction copies anything.
    assert cli("s3", "sync", str(src), f"s3://{cli_bucket}/tree").stdout.strip() == ""
    assert cli("s3", "sync", f"s3://{cli_bucket}/tree", str(dst)).stdout.strip() == ""

    # One local change: exactly that file goes up; --delete removes a vanished one.
    (src / "top.txt").write_bytes(b"changed, and longer than before\n")
    (src / "with space.txt").unlink()
    out = cli("s3", "sync", str(src), f"s3://{cli_bucket}/tree", "--delete").stdout
    lines = sorted(
        line.split(":", 1)[0]
        for line in out.splitlines()
        if line.startswith(("upload:", "delete:"))
    )
    assert lines == ["delete", "upload"], out
    assert f"s3://{cli_bucket}/tree/with space.txt" in out
    down = tmp_path / "top.txt"
    cli("s3", "cp", f"s3://{cli_bucket}/tree/top.txt", str(down))
    assert down.read_bytes() == b"changed, and longer than before\n"


def test_sync_down_with_exact_timestamps_copies_nothing_again(
    cli: AwsCli, cli_bucket: str, tmp_path: Path
) -> None:
    """``sync --exact-timestamps`` sets a downloaded file's mtime from the listing, to the
    second, and downloads again when the listed time differs: S3 writes the times in its
    XML bodies to the whole second (``.000Z``), like its ``Last-Modified`` header."""
    src = tmp_path / "src"
    _write_tree(src)
    cli("s3", "sync", str(src), f"s3://{cli_bucket}/tree")
    dst = tmp_path / "dst"
    cli("s3", "sync", f"s3://{cli_bucket}/tree", str(dst))
    again = cli("s3", "sync", f"s3://{cli_bucket}/tree", str(dst), "--exact-timestamps")
    assert again.stdout.strip() == "", again.stdout

    s3 = cli.gateway.client()
    s3.copy_object(Bucket=cli_bucket, Key="copy", CopySource=f"{cli_bucket}/tree/top.txt")
    listed = s3.list_objects_v2(Bucket=cli_bucket)["Contents"]
    times = [o["LastModified"] for o in listed]
    times += [v["LastModified"] for v in s3.list_object_versions(Bucket=cli_bucket)["Versions"]]
    times += [b["CreationDate"] for b in s3.list_buckets()["Buckets"]]
    assert all(t.microsecond == 0 for t in times), times
    for entry in listed:
        head = s3.head_object(Bucket=cli_bucket, Key=entry["Key"])
        assert head["LastModified"] == entry["LastModified"], entry["Key"]


def test_ls_and_ls_recursive(cli: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write_tree(src)
    cli("s3", "sync", str(src), f"s3://{cli_bucket}")

    buckets = cli("s3", "ls").stdout
    assert cli_bucket in buckets.split()

    top = cli("s3", "ls", f"s3://{cli_bucket}").stdout.splitlines()
    prefixes = sorted(line.split("PRE ", 1)[1] for line in top if "PRE " in line)
    files = sorted(line.split(None, 3)[3] for line in top if "PRE " not in line)
    assert prefixes == ["dir one/", "nested/", "ünïcødé/"]
    assert files == ["top.txt", "with space.txt"]

    nested = cli("s3", "ls", f"s3://{cli_bucket}/nested/deep/").stdout.splitlines()
    assert any(line.strip() == "PRE er/" for line in nested), nested
    assert any(line.endswith(" empty.txt") for line in nested), nested

    recursive = cli("s3", "ls", "--recursive", f"s3://{cli_bucket}").stdout.splitlines()
    entries = {line.split(None, 3)[3]: int(line.split(None, 3)[2]) for line in recursive}
    assert entries == {k: len(v) for k, v in TREE.items()}

    summary = cli("s3", "ls", "--recursive", "--summarize", f"s3://{cli_bucket}").stdout
    assert f"Total Objects: {len(TREE)}" in summary
    assert f"Total Size: {sum(len(v) for v in TREE.values())}" in summary


def test_rm_recursive_rb_and_rb_force(cli: AwsCli, tmp_path: Path) -> None:
    bucket = _bucket_name()
    cli("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "src"
    _write_tree(src)
    cli("s3", "sync", str(src), f"s3://{bucket}")

    refused = cli("s3", "rb", f"s3://{bucket}", check=False)
    assert refused.returncode != 0
    assert "BucketNotEmpty" in refused.stderr, refused.stderr

    out = cli("s3", "rm", "--recursive", f"s3://{bucket}/nested/").stdout
    assert out.count("delete:") == 2, out
    assert sorted(_list_keys(cli, bucket)) == sorted(k for k in TREE if not k.startswith("nested/"))

    out = cli("s3", "rm", "--recursive", f"s3://{bucket}").stdout
    assert out.count("delete:") == len(TREE) - 2, out
    assert _list_keys(cli, bucket) == []
    assert f"remove_bucket: {bucket}" in cli("s3", "rb", f"s3://{bucket}").stdout
    assert bucket not in cli("s3", "ls").stdout.split()

    # rb --force empties the bucket first.
    forced = _bucket_name()
    cli("s3", "mb", f"s3://{forced}")
    cli("s3", "sync", str(src), f"s3://{forced}/x")
    out = cli("s3", "rb", "--force", f"s3://{forced}").stdout
    assert f"remove_bucket: {forced}" in out
    missing = cli("s3", "ls", f"s3://{forced}", check=False)
    assert missing.returncode != 0
    assert "NoSuchBucket" in missing.stderr


def test_s3api_calls(cli: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{"hello": "world"}')
    put = cli.json(
        "s3api", "put-object", "--bucket", cli_bucket, "--key", "docs/a b+c.json",
        "--body", str(body), "--content-type", "application/json",
        "--metadata", "color=blue,owner=e2e",
    )  # fmt: skip
    assert put["ETag"] == '"' + hashlib.md5(body.read_bytes()).hexdigest() + '"'

    head = cli.json("s3api", "head-object", "--bucket", cli_bucket, "--key", "docs/a b+c.json")
    assert head["ContentLength"] == len(body.read_bytes())
    assert head["ContentType"] == "application/json"
    assert head["Metadata"] == {"color": "blue", "owner": "e2e"}
    assert head["ETag"] == put["ETag"]

    missing = cli("s3api", "head-object", "--bucket", cli_bucket, "--key", "nope", check=False)
    assert missing.returncode != 0
    assert "404" in missing.stderr

    out = tmp_path / "out.json"
    got = cli.json(
        "s3api", "get-object", "--bucket", cli_bucket, "--key", "docs/a b+c.json", str(out)
    )
    assert got["ContentLength"] == len(body.read_bytes())
    assert out.read_bytes() == body.read_bytes()

    ranged = tmp_path / "ranged"
    got = cli.json(
        "s3api", "get-object", "--bucket", cli_bucket, "--key", "docs/a b+c.json",
        "--range", "bytes=2-6", str(ranged),
    )  # fmt: skip
    assert ranged.read_bytes() == body.read_bytes()[2:7]
    assert got["ContentRange"] == f"bytes 2-6/{len(body.read_bytes())}"

    copied = cli.json(
        "s3api", "copy-object", "--bucket", cli_bucket, "--key", "docs/copy.json",
        "--copy-source", f"{cli_bucket}/docs/a b+c.json",
    )  # fmt: skip
    assert copied["CopyObjectResult"]["ETag"] == put["ETag"]

    listing = cli.json(
        "s3api", "list-objects-v2", "--bucket", cli_bucket, "--prefix", "docs/",
        "--delimiter", "/", "--no-paginate",
    )  # fmt: skip
    assert [o["Key"] for o in listing["Contents"]] == ["docs/a b+c.json", "docs/copy.json"]
    assert listing["KeyCount"] == 2
    paged = cli.json(
        "s3api", "list-objects-v2", "--bucket", cli_bucket, "--max-items", "1",
        "--page-size", "1",
    )  # fmt: skip
    assert [o["Key"] for o in paged["Contents"]] == ["docs/a b+c.json"]
    assert paged.get("NextToken")

    acl = cli.json("s3api", "get-object-acl", "--bucket", cli_bucket, "--key", "docs/copy.json")
    assert acl["Owner"]["ID"]
    assert any(g["Permission"] == "FULL_CONTROL" for g in acl["Grants"]), acl
    bucket_acl = cli.json("s3api", "get-bucket-acl", "--bucket", cli_bucket)
    assert bucket_acl["Owner"]["ID"] == acl["Owner"]["ID"]

    location = cli.json("s3api", "get-bucket-location", "--bucket", cli_bucket)
    assert location.get("LocationConstraint") in (None, "", "us-east-1")
    cli("s3api", "head-bucket", "--bucket", cli_bucket)

    # Multipart by hand: create, upload two parts, list, complete.
    key = "multi/part.bin"
    created = cli.json("s3api", "create-multipart-upload", "--bucket", cli_bucket, "--key", key)
    upload_id = created["UploadId"]
    assert created["Key"] == key
    uploads = cli.json("s3api", "list-multipart-uploads", "--bucket", cli_bucket)
    assert [u["UploadId"] for u in uploads["Uploads"]] == [upload_id]

    parts_data = [os.urandom(5 * MiB), os.urandom(1234)]
    etags = []
    for number, data in enumerate(parts_data, start=1):
        part_file = tmp_path / f"part{number}"
        part_file.write_bytes(data)
        part = cli.json(
            "s3api", "upload-part", "--bucket", cli_bucket, "--key", key,
            "--upload-id", upload_id, "--part-number", str(number), "--body", str(part_file),
        )  # fmt: skip
        assert part["ETag"] == '"' + hashlib.md5(data).hexdigest() + '"'
        etags.append(part["ETag"])
    listed = cli.json(
        "s3api", "list-parts", "--bucket", cli_bucket, "--key", key, "--upload-id", upload_id
    )
    assert [p["PartNumber"] for p in listed["Parts"]] == [1, 2]
    assert [p["Size"] for p in listed["Parts"]] == [len(d) for d in parts_data]

    layout = {"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags, start=1)]}
    done = cli.json(
        "s3api", "complete-multipart-upload", "--bucket", cli_bucket, "--key", key,
        "--upload-id", upload_id, "--multipart-upload", json.dumps(layout),
    )  # fmt: skip
    expected_etag = hashlib.md5(b"".join(hashlib.md5(d).digest() for d in parts_data)).hexdigest()
    assert done["ETag"] == f'"{expected_etag}-2"'
    head = cli.json("s3api", "head-object", "--bucket", cli_bucket, "--key", key)
    assert head["ContentLength"] == sum(len(d) for d in parts_data)
    assert head["ETag"] == done["ETag"]

    # Abort leaves nothing behind.
    aborted = cli.json("s3api", "create-multipart-upload", "--bucket", cli_bucket, "--key", "gone")
    cli(
        "s3api", "abort-multipart-upload", "--bucket", cli_bucket, "--key", "gone",
        "--upload-id", aborted["UploadId"],
    )  # fmt: skip
    uploads = cli.json("s3api", "list-multipart-uploads", "--bucket", cli_bucket)
    assert uploads.get("Uploads", []) == []

    deleted = cli.json(
        "s3api", "delete-objects", "--bucket", cli_bucket, "--delete",
        json.dumps({"Objects": [{"Key": "docs/copy.json"}, {"Key": key}]}),
    )  # fmt: skip
    assert sorted(d["Key"] for d in deleted["Deleted"]) == ["docs/copy.json", key]
    cli("s3api", "delete-object", "--bucket", cli_bucket, "--key", "docs/a b+c.json")
    assert _list_keys(cli, cli_bucket) == []


DEBIAN_AWS = "/usr/bin/aws"
"""aws CLI v2: Debian's ``awscli`` package (``make awscli2``)."""


def cli_of_version(gateway: Gateway, tmp_path: Path, version: str) -> AwsCli:
    """The venv's aws CLI (``v1``) or Debian's (``v2``), checked to be that version, with
    its own empty home under ``tmp_path``."""
    binary = AWS if version == "v1" else DEBIAN_AWS
    assert binary is not None and os.access(binary, os.X_OK), (
        f"the aws CLI {version} is missing (v2: run `make awscli2`)"
    )
    found = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=60)
    assert (found.stdout or found.stderr).startswith(f"aws-cli/{version[1]}."), found
    home = tmp_path / "aws-home"
    home.mkdir()
    return AwsCli(gateway, home, binary)


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_s3api_reads_configurations_no_bucket_holds(
    gateway: Gateway, tmp_path: Path, version: str
) -> None:
    """Reads of website, notification, accelerate, logging, analytics ... exit 0 with AWS's
    "not configured" answers (tools that read every setting go on); their writes fail with
    NotImplemented. Both CLIs: v2 parses the answers with its own botocore."""
    cli = cli_of_version(gateway, tmp_path, version)
    bucket = _bucket_name()
    cli("s3api", "create-bucket", "--bucket", bucket)
    assert cli.json("s3api", "get-bucket-notification-configuration", "--bucket", bucket) == {}
    assert cli.json("s3api", "get-bucket-accelerate-configuration", "--bucket", bucket) == {}
    assert cli.json("s3api", "get-bucket-logging", "--bucket", bucket) == {}
    listed = cli.json("s3api", "list-bucket-analytics-configurations", "--bucket", bucket)
    assert listed == {"IsTruncated": False}
    cli("s3api", "delete-bucket-website", "--bucket", bucket)
    website = cli("s3api", "get-bucket-website", "--bucket", bucket, check=False)
    assert website.returncode != 0 and "NoSuchWebsiteConfiguration" in website.stderr
    put = cli(
        "s3api", "put-bucket-accelerate-configuration", "--bucket", bucket,
        "--accelerate-configuration", "Status=Enabled", check=False,
    )  # fmt: skip
    assert put.returncode != 0 and "NotImplemented" in put.stderr
    cli("s3api", "delete-bucket", "--bucket", bucket)


def _fetch(url: str, ca: str | None) -> tuple[int, bytes]:
    context = ssl.create_default_context(cafile=ca) if ca else None
    with urllib.request.urlopen(url, timeout=30, context=context) as response:
        return int(response.status), response.read()


@pytest.mark.parametrize("which", ["http", "https"])
def test_presign_fetched_with_urllib(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    runner: AwsCli = request.getfixturevalue("cli" if which == "http" else "tls_cli")
    bucket = _bucket_name()
    runner("s3", "mb", f"s3://{bucket}")
    src = tmp_path / "shared file ✓.txt"
    src.write_bytes(b"shared through a presigned url\n")
    key = "share/shared file ✓.txt"
    runner("s3", "cp", str(src), f"s3://{bucket}/{key}")

    # awscli v1 presigns with SigV2 by default (AWS S3 still accepts those URLs, and so does
    # the gateway); with s3v4 configured it presigns with SigV4. Both must work.
    sigv2 = runner("s3", "presign", f"s3://{bucket}/{key}").stdout.strip()
    assert "AWSAccessKeyId=" in sigv2
    status, data = _fetch(sigv2, runner.gateway.tls_ca)
    assert (status, data) == (200, src.read_bytes())
    runner.use_sigv4_presign()
    url = runner("s3", "presign", f"s3://{bucket}/{key}", "--expires-in", "300").stdout.strip()
    assert url.startswith(runner.gateway.s3_url)
    assert "X-Amz-Signature=" in url
    status, data = _fetch(url, runner.gateway.tls_ca)
    assert status == 200
    assert data == src.read_bytes()

    # A tampered URL is refused with S3's XML error.
    tampered = url.replace("X-Amz-Expires=300", "X-Amz-Expires=301")
    assert tampered != url
    with pytest.raises(urllib.error.HTTPError) as refused:
        _fetch(tampered, runner.gateway.tls_ca)
    assert refused.value.code == 403
    assert b"SignatureDoesNotMatch" in refused.value.read()
    tampered_v2 = sigv2.replace("Expires=", "Expires=1")
    with pytest.raises(urllib.error.HTTPError) as refused_v2:
        _fetch(tampered_v2, runner.gateway.tls_ca)
    assert refused_v2.value.code == 403


def test_cp_stdin_stdout_server_side_copy_and_mv(
    cli: AwsCli, cli_bucket: str, tmp_path: Path
) -> None:
    assert AWS is not None
    base = [AWS, "--endpoint-url", cli.gateway.s3_url, "s3", "cp"]
    # From stdin: size unknown up front; > 8 MiB makes the CLI stream it as multipart.
    streamed = os.urandom(10 * MiB + 3)
    up = subprocess.run(
        [*base, "-", f"s3://{cli_bucket}/stdin.bin"],
        input=streamed,
        env=cli.env,
        capture_output=True,
        timeout=120,
    )
    assert up.returncode == 0, up.stderr.decode(errors="replace")
    small = subprocess.run(
        [*base, "-", f"s3://{cli_bucket}/stdin-small.txt"],
        input=b"tiny",
        env=cli.env,
        capture_output=True,
        timeout=60,
    )
    assert small.returncode == 0, small.stderr.decode(errors="replace")
    down = subprocess.run(
        [*base, f"s3://{cli_bucket}/stdin.bin", "-"], env=cli.env, capture_output=True, timeout=120
    )
    assert down.returncode == 0, down.stderr.decode(errors="replace")
    assert down.stdout == streamed

    # S3 to S3: CopyObject for small objects, UploadPartCopy above the threshold.
    cli("s3", "cp", f"s3://{cli_bucket}/stdin.bin", f"s3://{cli_bucket}/copies/big copy.bin")
    cli("s3", "cp", f"s3://{cli_bucket}/stdin-small.txt", f"s3://{cli_bucket}/copies/ü.txt")
    out = tmp_path / "copy.bin"
    cli("s3", "cp", f"s3://{cli_bucket}/copies/big copy.bin", str(out))
    assert out.read_bytes() == streamed

    cli("s3", "mv", f"s3://{cli_bucket}/copies/ü.txt", f"s3://{cli_bucket}/moved/ü.txt")
    assert sorted(_list_keys(cli, cli_bucket)) == [
        "copies/big copy.bin",
        "moved/ü.txt",
        "stdin-small.txt",
        "stdin.bin",
    ]
    moved = tmp_path / "moved.txt"
    cli("s3", "cp", f"s3://{cli_bucket}/moved/ü.txt", str(moved))
    assert moved.read_bytes() == b"tiny"


def test_cp_recursive_with_filters_and_metadata(
    cli: AwsCli, cli_bucket: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    _write_tree(src)
    out = cli(
        "s3", "cp", "--recursive", str(src), f"s3://{cli_bucket}/r",
        "--exclude", "*", "--include", "*.txt", "--content-type", "text/plain",
        "--metadata", "source=cli", "--cache-control", "max-age=60",
    ).stdout  # fmt: skip
    txt = sorted(k for k in TREE if k.endswith(".txt"))
    assert out.count("upload:") == len(txt), out
    assert sorted(_list_keys(cli, cli_bucket)) == [f"r/{k}" for k in txt]
    head = cli.json("s3api", "head-object", "--bucket", cli_bucket, "--key", f"r/{txt[0]}")
    assert head["ContentType"] == "text/plain"
    assert head["Metadata"] == {"source": "cli"}
    assert head["CacheControl"] == "max-age=60"

    dst = tmp_path / "dst"
    cli("s3", "cp", "--recursive", f"s3://{cli_bucket}/r", str(dst))
    assert _read_tree(dst) == {k: TREE[k] for k in txt}


def test_many_keys_ls_and_rm_paginate(cli: AwsCli, cli_bucket: str) -> None:
    """> 1000 keys: the CLI pages ListObjectsV2 (continuation tokens) for ls and rm."""
    s3 = cli.gateway.client()
    keys = [f"many/{i:05d}" for i in range(1105)]
    for key in keys:
        s3.put_object(Bucket=cli_bucket, Key=key, Body=b"")
    listed = cli("s3", "ls", "--recursive", f"s3://{cli_bucket}/many/").stdout.splitlines()
    assert [line.split(None, 3)[3] for line in listed] == keys
    assert (
        "Total Objects: 1105"
        in cli("s3", "ls", "--recursive", "--summarize", f"s3://{cli_bucket}").stdout
    )
    out = cli("s3", "rm", "--recursive", "--only-show-errors", f"s3://{cli_bucket}/many/")
    assert out.stdout.strip() == "" and out.stderr.strip() == ""
    assert _list_keys(cli, cli_bucket) == []


@pytest.fixture
def upstream_cli(upstream_gateway: Gateway, tmp_path: Path) -> AwsCli:
    home = tmp_path / "aws-home-upstream"
    home.mkdir()
    return AwsCli(upstream_gateway, home)


def test_cli_works_the_same_with_the_s3_backend(upstream_cli: AwsCli, tmp_path: Path) -> None:
    """The gateway in front of an upstream store (moto) serves the CLI like the filesystem
    backend: mb, cp small and multipart both ways, sync, ls, rm --recursive, rb."""
    bucket = _bucket_name()
    assert f"make_bucket: {bucket}" in upstream_cli("s3", "mb", f"s3://{bucket}").stdout
    _roundtrip_cp(upstream_cli, bucket, tmp_path)
    src = tmp_path / "src"
    _write_tree(src)
    # moto reports LastModified in whole seconds: a file written in the same second as its
    # upload would look newer than the object and be copied again. Date the files back.
    past = time.time() - 60
    for path in src.rglob("*"):
        os.utime(path, (past, past))
    out = upstream_cli("s3", "sync", str(src), f"s3://{bucket}/tree").stdout
    assert out.count("upload:") == len(TREE), out
    assert upstream_cli("s3", "sync", str(src), f"s3://{bucket}/tree").stdout.strip() == ""
    listed = upstream_cli("s3", "ls", f"s3://{bucket}/", "--recursive").stdout
    assert "dir/big.bin" in listed and "tree/top.txt" in listed
    failed = upstream_cli("s3", "rb", f"s3://{bucket}", check=False)
    assert failed.returncode != 0 and "BucketNotEmpty" in failed.stderr
    upstream_cli("s3", "rm", f"s3://{bucket}", "--recursive")
    assert _list_keys(upstream_cli, bucket) == []
    assert f"remove_bucket: {bucket}" in upstream_cli("s3", "rb", f"s3://{bucket}").stdout


def test_versions_list_and_get_by_version_id(cli: AwsCli, cli_bucket: str, tmp_path: Path) -> None:
    """``s3api put-bucket-versioning``, ``list-object-versions`` (with the CLI's own
    paging) and ``get-object --version-id``."""
    cli(
        "s3api", "put-bucket-versioning", "--bucket", cli_bucket,
        "--versioning-configuration", "Status=Enabled",
    )  # fmt: skip
    status = cli.json("s3api", "get-bucket-versioning", "--bucket", cli_bucket)
    assert status["Status"] == "Enabled"
    written = []
    for i in range(3):
        body = tmp_path / f"v{i}.txt"
        body.write_bytes(f"version {i}\n".encode())
        put = cli.json("s3api", "put-object", "--bucket", cli_bucket, "--key", "doc.txt",
                       "--body", str(body))  # fmt: skip
        written.append(put["VersionId"])
    deleted = cli.json("s3api", "delete-object", "--bucket", cli_bucket, "--key", "doc.txt")
    assert deleted["DeleteMarker"] is True

    # --page-size 2: the CLI pages with key-marker / version-id-marker itself
    listing = cli.json("s3api", "list-object-versions", "--bucket", cli_bucket, "--page-size", "2")
    assert [v["VersionId"] for v in listing["Versions"]] == written[::-1]
    assert not any(v["IsLatest"] for v in listing["Versions"])
    assert [(m["VersionId"], m["IsLatest"]) for m in listing["DeleteMarkers"]] == [
        (deleted["VersionId"], True)
    ]

    out = tmp_path / "first.txt"
    meta = cli.json("s3api", "get-object", "--bucket", cli_bucket, "--key", "doc.txt",
                    "--version-id", written[0], str(out))  # fmt: skip
    assert meta["VersionId"] == written[0]
    assert out.read_bytes() == b"version 0\n"
    missing = cli("s3api", "get-object", "--bucket", cli_bucket, "--key", "doc.txt",
                  str(tmp_path / "none"), check=False)  # fmt: skip
    assert missing.returncode != 0 and "NoSuchKey" in missing.stderr

    # restore: copy the first version back onto the key
    cli("s3api", "copy-object", "--bucket", cli_bucket, "--key", "doc.txt",
        "--copy-source", f"{cli_bucket}/doc.txt?versionId={written[0]}")  # fmt: skip
    back = tmp_path / "back.txt"
    cli("s3", "cp", f"s3://{cli_bucket}/doc.txt", str(back))
    assert back.read_bytes() == b"version 0\n"
