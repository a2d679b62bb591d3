"""s3cmd (PyPI) against the gateway, with a configuration file that sets only what points
it at the gateway (host, keys, HTTP or HTTPS): Signature V4, path-style requests, its own
multipart uploads above the chunk size, its `s3cmd-attrs` metadata.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.clients import BIG, make_tree, md5, read_tree, s3cmd, s3cmd_config
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique, urlopen


def test_put_list_get_copy_sync_and_remove(client_gateway: Gateway, tmp_path: Path) -> None:
    files = make_tree(tmp_path / "src")
    config = s3cmd_config(client_gateway, tmp_path)
    bucket = f"s3://{unique('s3cmd')}"
    s3cmd(config, "mb", bucket)

    # 12 MB in 5 MB chunks: a multipart upload of three parts (--progress: the meter names
    # the parts, and s3cmd leaves it off when its output is not a terminal)
    put = s3cmd(
        config,
        "put",
        str(tmp_path / "src" / "big.bin"),
        f"{bucket}/big.bin",
        "--multipart-chunk-size-mb=5",
        "--progress",
    )
    assert "part 3 of 3" in put, put
    s3cmd(config, "put", "--recursive", f"{tmp_path / 'src'}/", f"{bucket}/tree/")

    listed = {}
    for line in s3cmd(config, "ls", "--recursive", bucket).splitlines():
        _date, _time, size, url = line.split(None, 3)
        listed[url.removeprefix(f"{bucket}/")] = int(size)
    assert listed == {
        "big.bin": BIG,
        **{f"tree/{key}": len(body) for key, body in files.items()},
    }

    info = s3cmd(config, "info", f"{bucket}/big.bin")
    # the MD5 s3cmd shows for a multipart object is the one it stored in its metadata
    assert f"MD5 sum:   {md5(files['big.bin'])}" in info, info
    s3cmd(config, "get", f"{bucket}/big.bin", str(tmp_path / "got.bin"))
    assert (tmp_path / "got.bin").read_bytes() == files["big.bin"]
    (tmp_path / "back").mkdir()
    s3cmd(config, "get", "--recursive", f"{bucket}/tree/", f"{tmp_path / 'back'}/")
    assert read_tree(tmp_path / "back") == files

    s3cmd(config, "cp", f"{bucket}/big.bin", f"{bucket}/copy.bin")
    s3cmd(config, "get", f"{bucket}/copy.bin", str(tmp_path / "copy.bin"))
    assert (tmp_path / "copy.bin").read_bytes() == files["big.bin"]

    # sync: the first uploads everything, a second one (nothing changed) uploads nothing,
    # and --delete-removed removes what the source no longer has
    s3cmd(config, "sync", f"{tmp_path / 'src'}/", f"{bucket}/sync/")
    again = s3cmd(config, "sync", f"{tmp_path / 'src'}/", f"{bucket}/sync/")
    assert "upload:" not in again, again
    (tmp_path / "src" / "a.txt").unlink()
    pruned = s3cmd(
        config,
        "sync",
        "--delete-removed",
        f"{tmp_path / 'src'}/",
        f"{bucket}/sync/",
    )
    assert f"delete: '{bucket}/sync/a.txt'" in pruned, pruned

    s3cmd(config, "del", "--recursive", "--force", f"{bucket}/")
    assert s3cmd(config, "ls", "--recursive", bucket) == ""
    s3cmd(config, "rb", bucket)
    assert bucket not in s3cmd(config, "ls")


ODD = [
    "a+b.txt",
    "sp ace.txt",
    "pct%41.txt",
    "pct%.txt",
    "\u00fc \u00f1+%2F.txt",
    "semi;colon=.txt",
]
"""Key names s3cmd quotes its own way in the path and its signature: a plus, a space, a
percent before hex digits and before none, non-ASCII, sub-delimiters."""


def test_sync_ls_info_and_setacl_of_keys_that_need_encoding(
    client_gateway: Gateway, tmp_path: Path
) -> None:
    config = s3cmd_config(client_gateway, tmp_path)
    bucket = f"s3://{unique('s3cmd')}"
    s3cmd(config, "mb", bucket)
    src = tmp_path / "odd"
    src.mkdir()
    for i, name in enumerate(ODD):
        (src / name).write_bytes(f"{i}\n".encode())
    s3cmd(config, "sync", f"{src}/", f"{bucket}/odd/")
    assert "upload:" not in s3cmd(config, "sync", f"{src}/", f"{bucket}/odd/")

    listed = [line.split(None, 3)[3] for line in s3cmd(config, "ls", "-r", bucket).splitlines()]
    assert listed == sorted(f"{bucket}/odd/{name}" for name in ODD)
    (tmp_path / "back").mkdir()
    s3cmd(config, "sync", f"{bucket}/odd/", f"{tmp_path / 'back'}/")
    assert read_tree(tmp_path / "back") == read_tree(src)

    key = f"{bucket}/odd/{ODD[0]}"
    info = s3cmd(config, "info", key)
    digest = md5(b"0\n")
    assert "File size: 2" in info and f"MD5 sum:   {digest}" in info, info
    anonymous_url = f"{client_gateway.s3_url}/{bucket.removeprefix('s3://')}/odd/a%2Bb.txt"
    assert urlopen(client_gateway, anonymous_url).status == 403
    s3cmd(config, "setacl", "--acl-public", key)
    assert "*anon*: READ" in s3cmd(config, "info", key)
    assert urlopen(client_gateway, anonymous_url).body == b"0\n"
    s3cmd(config, "setacl", "--acl-private", key)
    assert "*anon*" not in s3cmd(config, "info", key)
    assert urlopen(client_gateway, anonymous_url).status == 403
    # --recursive: one GetObjectAcl and PutObjectAcl per key, every name quoted right
    s3cmd(config, "setacl", "--acl-public", "--recursive", f"{bucket}/odd/")
    for name in ODD:
        assert "*anon*: READ" in s3cmd(config, "info", f"{bucket}/odd/{name}"), name
