"""``nfyio-gateway rotate-master-key`` on a real gateway's data directory: refused while the
gateway serves; afterwards every access key works through boto3, objects encrypted before
the rotation (SSE-S3, multipart SSE-S3, SSE-C) read back through the key kept in
``previous-master-keys/``, OAuth sign-ins end, and a rotation cut short is finished by
running the command again."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gateway import master_key
from gateway.config import load_config
from tests.e2e.gateway_process import start_gateway
from tests.e2e.oauth_util import call, make_setup
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import expect_error

PART = 5 * 1024 * 1024
CUSTOMER_KEY = os.urandom(32)
SSE_C = {
    "SSECustomerAlgorithm": "AES256",
    "SSECustomerKey": base64.b64encode(CUSTOMER_KEY).decode(),
    "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(CUSTOMER_KEY).digest()).decode(),
}


def rotate_cli(data_dir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "rotate-master-key",
            "--data-dir",
            str(data_dir),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
    )


def body(s3: Any, key: str, **extra: Any) -> bytes:
    data: bytes = s3.get_object(Bucket="vault", Key=key, **extra)["Body"].read()
    return data


def fill(s3: Any) -> dict[str, bytes]:
    """Objects of every kind the master key touches, and one it does not."""
    s3.create_bucket(Bucket="vault")
    objects = {
        "plain": b"plain bytes",
        "small": os.urandom(2_000),
        "sse-s3": os.urandom(70_000),
        "sse-c": os.urandom(9_000),
    }
    s3.put_object(Bucket="vault", Key="plain", Body=objects["plain"])
    s3.put_object(Bucket="vault", Key="small", Body=objects["small"], ServerSideEncryption="AES256")
    s3.put_object(
        Bucket="vault", Key="sse-s3", Body=objects["sse-s3"], ServerSideEncryption="AES256"
    )
    s3.put_object(Bucket="vault", Key="sse-c", Body=objects["sse-c"], **SSE_C)
    parts = [os.urandom(PART), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket="vault", Key="multi", ServerSideEncryption="AES256")
    done = [
        {
            "PartNumber": n,
            "ETag": s3.upload_part(
                Bucket="vault", Key="multi", UploadId=upload["UploadId"], PartNumber=n, Body=part
            )["ETag"],
        }
        for n, part in enumerate(parts, 1)
    ]
    s3.complete_multipart_upload(
        Bucket="vault", Key="multi", UploadId=upload["UploadId"], MultipartUpload={"Parts": done}
    )
    objects["multi"] = b"".join(parts)
    return objects


def check(s3: Any, objects: dict[str, bytes]) -> None:
    for key, data in objects.items():
        extra = SSE_C if key == "sse-c" else {}
        assert body(s3, key, **extra) == data, key
    assert (
        body(s3, "multi", Range=f"bytes={PART - 10}-{PART + 9}")
        == objects["multi"][PART - 10 : PART + 10]
    )
    wrong = os.urandom(32)
    expect_error(
        "AccessDenied",
        403,
        s3.get_object,
        Bucket="vault",
        Key="sse-c",
        SSECustomerAlgorithm="AES256",
        SSECustomerKey=base64.b64encode(wrong).decode(),
        SSECustomerKeyMD5=base64.b64encode(hashlib.md5(wrong).digest()).decode(),
    )


def test_rotation_of_the_data_directory_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    gateway = start_gateway(data)
    try:
        s3 = gateway.client()
        objects = fill(s3)
        made = make_key(gateway, scopes=["read:objects", "write:objects", "read:buckets"])
        setup = make_setup(gateway)
        tokens = setup.login()
        refused = rotate_cli(data, gateway.env)
        assert refused.returncode == 1 and "stop it first" in refused.stderr
    finally:
        gateway.stop()
    old_key = (data / "master.key").read_text()

    rotated = rotate_cli(data, gateway.env)
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert report["access_key_secrets"] >= 2  # the root key and the one made above
    assert report["signing_keys"] == 1 and report["sessions_ended"] == 1
    assert report["finished_earlier_run"] is False
    assert report["sse_s3_streams_rewrapped"] == 4  # small (inline), sse-s3, multi's 2 parts
    assert report["old_key_needed_by_sse_c_objects"] is True
    assert (data / "master.key").read_text() != old_key
    assert not (data / "master.key.next").exists() and not (data / "rotation.pending").exists()
    kept = Path(report["previous_key_file"])
    assert kept.parent == data / "previous-master-keys" and kept.read_text() == old_key
    assert kept.stat().st_mode & 0o777 == 0o600

    again = start_gateway(data)
    try:
        check(again.client(), objects)
        mine = again.client(made["id"], made["secret"])
        assert body(mine, "plain") == objects["plain"]
        # Sign-ins ended: the refresh token and the access token both stop.
        setup = dataclasses.replace(setup, gateway=again)
        refresh = setup.token(
            grant_type="refresh_token", refresh_token=tokens["refresh_token"], **setup.creds()
        )
        assert refresh.status == 400 and refresh.json()["error"] == "invalid_grant"
        me = call(
            f"{again.api_url}/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.status == 401
        fresh = setup.login()
        assert (
            call(
                f"{again.api_url}/v1/me",
                headers={"Authorization": f"Bearer {fresh['access_token']}"},
            ).status
            == 200
        )
        # New objects are written under the new key.
        again.client().put_object(
            Bucket="vault", Key="after", Body=b"after", ServerSideEncryption="AES256"
        )
        events = subprocess.run(
            [
                sys.executable,
                "-m",
                "gateway.cli",
                "audit",
                "export",
                "--action",
                "master_key.rotate",
                "--data-dir",
                str(data),
            ],
            capture_output=True,
            text=True,
            env=again.env,
            check=True,
        ).stdout.splitlines()
        assert len(events) == 1
        event = json.loads(events[0])
        assert event["target"]["id"] == report["fingerprint"]
        assert event["details"]["previous_fingerprint"] == report["previous_fingerprint"]
    finally:
        again.stop()

    # SSE-S3 data was re-wrapped: without the old key only the SSE-C object is out of
    # reach (its key check was keyed under the old key), and says why.
    for path in (data / "previous-master-keys").iterdir():
        path.unlink()
    last = start_gateway(data)
    try:
        s3 = last.client()
        for key in ("plain", "small", "sse-s3", "multi"):
            assert body(s3, key) == objects[key]
        assert body(s3, "after") == b"after"
        missing = expect_error(
            "InternalError", 500, s3.get_object, Bucket="vault", Key="sse-c", **SSE_C
        )
        assert "unknown key" in missing.response["Error"]["Message"]
    finally:
        last.stop()


def test_a_rotation_cut_short_is_finished_by_running_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    gateway = start_gateway(data)
    try:
        objects = fill(gateway.client())
    finally:
        gateway.stop()
    old_key = (data / "master.key").read_text()

    real = os.replace

    def crash(src: str | Path, dst: str | Path) -> None:
        if Path(dst).name == "master.key":
            raise OSError("power lost before master.key.next was renamed")
        real(src, dst)

    # Data re-wrapped and the state store re-sealed, then the process dies before the
    # key file moves.
    config = load_config(None, overrides={("storage", "data_dir"): str(data)})
    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", crash)
        with pytest.raises(OSError, match="power lost"):
            asyncio.run(master_key.rotate(config))
    assert (data / "master.key").read_text() == old_key
    assert (data / "master.key.next").exists()
    with pytest.raises(RuntimeError, match="rotation did not finish"):
        start_gateway(data)

    finished = rotate_cli(data, gateway.env)
    assert finished.returncode == 0, finished.stderr
    report = json.loads(finished.stdout)
    assert report["finished_earlier_run"] is True and "access_key_secrets" not in report
    assert report["sse_s3_streams_rewrapped"] == 0  # the stopped run had done them all
    assert not (data / "master.key.next").exists() and not (data / "rotation.pending").exists()
    assert (data / "master.key").read_text() != old_key
    again = start_gateway(data)
    try:
        check(again.client(), objects)
    finally:
        again.stop()


def read_key(path: Path) -> bytes:
    return base64.b64decode(path.read_text())


def write_key(path: Path, key: bytes, mode: int = 0o600) -> Path:
    path.write_text(base64.b64encode(key).decode() + "\n")
    path.chmod(mode)
    return path


def test_rotation_of_a_configured_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key from NFYIO_MASTER_KEY_FILE: the command needs the new one, writes no key file,
    and the old key is listed in NFYIO_PREVIOUS_MASTER_KEY_FILES for the SSE-C objects."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)
    old, new = (
        write_key(keys / "old.key", os.urandom(32)),
        write_key(keys / "new.key", os.urandom(32)),
    )
    data = tmp_path / "data"
    gateway = start_gateway(data, extra_env={"NFYIO_MASTER_KEY_FILE": str(old)})
    try:
        objects = fill(gateway.client())
    finally:
        gateway.stop()
    env = gateway.env

    needs_key = rotate_cli(data, env)
    assert needs_key.returncode == 1 and "--new-key-file" in needs_key.stderr
    same = rotate_cli(data, env, "--new-key-file", str(old))
    assert same.returncode == 1 and "is the current one" in same.stderr
    loose = write_key(keys / "loose.key", os.urandom(32), 0o644)
    refused = rotate_cli(data, env, "--new-key-file", str(loose))
    assert refused.returncode == 1 and "chmod 600" in refused.stderr
    missing = rotate_cli(data, env, "--new-key-file", str(keys / "absent.key"))
    assert missing.returncode == 1 and "absent.key" in missing.stderr

    # A run that dies while re-wrapping: the data directory stays closed until one finishes.
    monkeypatch.setenv("NFYIO_MASTER_KEY_FILE", str(old))
    config = load_config(None, overrides={("storage", "data_dir"): str(data)})

    def crash(*_: object) -> int:
        raise OSError("power lost while re-wrapping")

    with monkeypatch.context() as patch:
        patch.setattr(os, "pwrite", crash)
        with pytest.raises(OSError, match="power lost"):
            asyncio.run(master_key.rotate(config, new_key=read_key(new)))
    with pytest.raises(RuntimeError, match="rotation did not finish"):
        start_gateway(data, extra_env={"NFYIO_MASTER_KEY_FILE": str(old)})
    other = write_key(keys / "other.key", os.urandom(32))
    mixed = rotate_cli(data, env, "--new-key-file", str(other))
    assert mixed.returncode == 1 and "another key did not finish" in mixed.stderr

    rotated = rotate_cli(data, env, "--new-key-file", str(new))
    assert rotated.returncode == 0, rotated.stderr
    report = json.loads(rotated.stdout)
    assert report["sse_s3_streams_rewrapped"] == 4 and report["finished_earlier_run"] is False
    assert "key_file" not in report and "previous_key_file" not in report
    assert any("auth.previous_master_key_files" in step for step in report["next"])
    assert not (data / "master.key").exists() and not (data / "previous-master-keys").exists()

    # The old key no longer opens the state store.
    with pytest.raises(RuntimeError, match="different master key"):
        start_gateway(data, extra_env={"NFYIO_MASTER_KEY_FILE": str(old)})
    after = start_gateway(
        data,
        extra_env={
            "NFYIO_MASTER_KEY_FILE": str(new),
            "NFYIO_PREVIOUS_MASTER_KEY_FILES": str(old),
        },
    )
    try:
        s3 = after.client()
        check(s3, objects)
        # Rewriting the SSE-C object with its key moves its key check to the new key.
        s3.copy_object(
            Bucket="vault",
            Key="sse-c",
            CopySource={"Bucket": "vault", "Key": "sse-c"},
            **SSE_C,
            **{f"CopySource{name}": value for name, value in SSE_C.items()},
        )
    finally:
        after.stop()

    # Once no SSE-C object names a previous key, the next rotation says it is unused.
    env = {**env, "NFYIO_MASTER_KEY_FILE": str(new), "NFYIO_PREVIOUS_MASTER_KEY_FILES": str(old)}
    third = write_key(keys / "third.key", os.urandom(32))
    again = rotate_cli(data, env, "--new-key-file", str(third))
    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["unused_previous_keys"] == [str(old)]
    # The copy's key check is under the key that was current then, rotated away from now.
    assert report["old_key_needed_by_sse_c_objects"] is True and len(report["next"]) == 2
    last = start_gateway(
        data,
        extra_env={
            "NFYIO_MASTER_KEY_FILE": str(third),
            "NFYIO_PREVIOUS_MASTER_KEY_FILES": str(new),
        },
    )
    try:
        check(last.client(), objects)  # without the first key at all
    finally:
        last.stop()


def test_a_key_staged_by_a_run_that_changed_nothing_is_replaced(tmp_path: Path) -> None:
    """A run that died between staging its key and marking the data directory changed
    nothing: the next run stages its own key and goes on."""
    data = tmp_path / "data"
    gateway = start_gateway(data)
    try:
        objects = fill(gateway.client())
    finally:
        gateway.stop()
    stale = write_key(data / "master.key.next", os.urandom(32))
    stale_text, old_text = stale.read_text(), (data / "master.key").read_text()
    rotated = rotate_cli(data, gateway.env)
    assert rotated.returncode == 0, rotated.stderr
    assert (data / "master.key").read_text() not in {stale_text, old_text}
    again = start_gateway(data)
    try:
        check(again.client(), objects)
    finally:
        again.stop()
