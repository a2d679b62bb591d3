"""The encrypted data format of the filesystem backend (``backends/filesystem/encryption``)
and what the backend does with it on disk: nothing readable, nothing that decrypts after
tampering, truncation or reordering, ranges that decrypt only what they cover."""

from __future__ import annotations

import base64
import hashlib
import os
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backends import BackendError, ByteRange, CopySource, ObjectMeta
from backends.filesystem import FilesystemBackend
from backends.filesystem.encryption import (
    HEADER,
    MODE_CUSTOMER,
    MODE_MANAGED,
    SEGMENT,
    TAG,
    KeySet,
    Layout,
    PlainReader,
    ReadAt,
    Sealer,
    SoleSegmentReader,
    StreamKey,
    customer_kek,
    segments,
    stream_length,
    unwrapper,
)
from backends.filesystem.objects import inline_plaintext
from backends.filesystem.sse import object_reader
from backends.types import BucketEncryption, Conditions, CustomerKey, Encryption
from tests.backends.fs_helpers import stored_bytes
from tests.backends.test_contract import payload, read_all

SSE_KEY = bytes(range(32))


def customer(key: bytes) -> CustomerKey:
    md5 = base64.b64encode(hashlib.md5(key).digest()).decode()
    return CustomerKey(key=key, key_md5=md5)


def seal(keys: KeySet, data: bytes, *, mode: int = MODE_MANAGED, kek_key: bytes = b"") -> bytes:
    kek = keys.managed_kek(keys.current_id) if mode == MODE_MANAGED else customer_kek(kek_key)
    key_id = keys.current_id if mode == MODE_MANAGED else bytes(8)
    sealer = Sealer(kek, mode=mode, key_id=key_id)
    whole = (len(data) - 1) // SEGMENT * SEGMENT if data else 0
    return (
        sealer.header
        + sealer.seal(data[:whole], final=False)
        + sealer.seal(data[whole:], final=True)
    )


def plain(path: Path, sizes: list[int], keys: KeySet, customer_key: bytes | None = None) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = PlainReader(fd, Layout(sizes), unwrapper(keys, customer_key))
        out = bytearray()
        while len(out) < sum(sizes):
            out += reader.read(len(out), 1 << 20)
        return bytes(out)
    finally:
        os.close(fd)


@pytest.mark.parametrize("size", [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 7])
def test_stream_length_and_round_trip(tmp_path: Path, size: int) -> None:
    keys = KeySet(SSE_KEY)
    data = os.urandom(size)
    blob = seal(keys, data)
    assert len(blob) == stream_length(size)
    path = tmp_path / "obj"
    path.write_bytes(blob)
    assert plain(path, [size], keys) == data
    if size >= 16:
        assert data[:16] not in blob


def test_random_ranges_over_several_streams(tmp_path: Path) -> None:
    keys = KeySet(SSE_KEY)
    sizes = [70_000, 0, SEGMENT * 2, 5]
    parts = [os.urandom(n) for n in sizes]
    path = tmp_path / "obj"
    path.write_bytes(b"".join(seal(keys, p) for p in parts))
    whole = b"".join(parts)
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = PlainReader(fd, Layout(sizes), unwrapper(keys, None))
        rng = random.Random(7)
        for _ in range(300):
            first = rng.randrange(len(whole))
            want = whole[first : first + rng.randrange(1, 200_000)]
            got = bytearray()
            while len(got) < len(want):
                chunk = reader.read(first + len(got), len(want) - len(got))
                assert chunk
                got += chunk
            assert bytes(got) == want
    finally:
        os.close(fd)


def _readers(blob: bytes, size: int, keys: KeySet) -> list[ReadAt]:
    """The general reader and the one for a one-segment stream in memory."""
    unwrap = unwrapper(keys, None)
    return [PlainReader(blob, Layout([size]), unwrap), SoleSegmentReader(blob, size, unwrap)]


@pytest.mark.parametrize("size", [1, 4096, SEGMENT])
def test_a_one_segment_object_read_whole_and_in_ranges(size: int) -> None:
    """The one-segment reader answers every read as the general one does: whole, in
    ranges, and asked for more than there is."""
    keys = KeySet(SSE_KEY)
    data = os.urandom(size)
    blob = seal(keys, data)
    rng = random.Random(size)
    asks = [(0, size), (0, size + 100), (size, 10)]
    asks += [(rng.randrange(size), rng.randrange(1, size + 2)) for _ in range(50)]
    for reader in _readers(blob, size, keys):
        for first, n in asks:
            assert reader.read(first, n) == data[first : first + n], type(reader)


def test_small_objects_in_memory_take_the_one_segment_reader() -> None:
    """Which reader an encrypted object gets: one segment held in memory (a small
    object kept inline) takes the short path; a file, or more segments, the general one."""
    keys = KeySet(SSE_KEY)
    meta = ObjectMeta(server_side_encryption="AES256")
    small, large = seal(keys, os.urandom(4096)), seal(keys, os.urandom(SEGMENT + 1))
    assert isinstance(object_reader(small, meta, [4096], keys, None), SoleSegmentReader)
    assert isinstance(object_reader(large, meta, [SEGMENT + 1], keys, None), PlainReader)
    assert isinstance(object_reader(small, meta, [2000, 2096], keys, None), PlainReader)
    assert isinstance(object_reader(0, meta, [4096], keys, None), PlainReader)


def test_a_short_or_altered_one_segment_object_is_refused() -> None:
    keys = KeySet(SSE_KEY)
    blob = seal(keys, os.urandom(4096))
    for cut in (blob[:-1], blob[: HEADER + 10], blob[:HEADER]):
        for reader in _readers(cut, 4096, keys):
            with pytest.raises(BackendError, match="truncated"):
                reader.read(0, 4096)
    flipped = bytearray(blob)
    flipped[HEADER + 100] ^= 1
    for reader in _readers(bytes(flipped), 4096, keys):
        with pytest.raises(BackendError, match="authentication"):
            reader.read(0, 4096)
    # the first of two segments, recorded as a one-segment object of its size: it was
    # not sealed as the last one, so it does not open as the only one
    two = seal(keys, os.urandom(SEGMENT + 10))[: HEADER + SEGMENT + TAG]
    for reader in _readers(two, SEGMENT, keys):
        with pytest.raises(BackendError, match="authentication"):
            reader.read(0, SEGMENT)


def _corrupt(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "where",
    ["header", "wrapped key", "first segment", "first tag", "last segment"],
)
def test_any_flipped_bit_fails_authentication(tmp_path: Path, where: str) -> None:
    keys = KeySet(SSE_KEY)
    size = 2 * SEGMENT + 100
    path = tmp_path / "obj"
    path.write_bytes(seal(keys, os.urandom(size)))
    offsets = {
        "header": 20,  # the nonce prefix: part of the wrap's associated data
        "wrapped key": HEADER - 20,
        "first segment": HEADER + 10,
        "first tag": HEADER + SEGMENT + 3,
        "last segment": HEADER + 2 * (SEGMENT + TAG) + 50,
    }
    _corrupt(path, offsets[where])
    with pytest.raises(BackendError) as caught:
        plain(path, [size], keys)
    assert caught.value.code == "InternalError"


def test_truncation_at_a_segment_boundary_is_detected(tmp_path: Path) -> None:
    """Without the final flag, a stream cut after its first segment would read as a
    shorter, valid object."""
    keys = KeySet(SSE_KEY)
    data = os.urandom(2 * SEGMENT + 10)
    path = tmp_path / "obj"
    path.write_bytes(seal(keys, data)[: HEADER + SEGMENT + TAG])
    with pytest.raises(BackendError):
        plain(path, [SEGMENT], keys)  # even when the recorded size is made to fit


def test_swapped_segments_do_not_decrypt(tmp_path: Path) -> None:
    keys = KeySet(SSE_KEY)
    data = os.urandom(3 * SEGMENT)
    blob = bytearray(seal(keys, data))
    stored = SEGMENT + TAG
    first = blob[HEADER : HEADER + stored]
    blob[HEADER : HEADER + stored] = blob[HEADER + stored : HEADER + 2 * stored]
    blob[HEADER + stored : HEADER + 2 * stored] = first
    path = tmp_path / "obj"
    path.write_bytes(bytes(blob))
    with pytest.raises(BackendError):
        plain(path, [len(data)], keys)


def test_segments_of_another_object_do_not_decrypt(tmp_path: Path) -> None:
    keys = KeySet(SSE_KEY)
    one, two = seal(keys, os.urandom(SEGMENT * 2)), seal(keys, os.urandom(SEGMENT * 2))
    path = tmp_path / "obj"
    path.write_bytes(one[:HEADER] + two[HEADER:])
    with pytest.raises(BackendError):
        plain(path, [SEGMENT * 2], keys)


def test_a_previous_sse_key_still_opens_and_a_foreign_one_does_not(tmp_path: Path) -> None:
    old = KeySet(SSE_KEY)
    data = os.urandom(1000)
    path = tmp_path / "obj"
    path.write_bytes(seal(old, data))
    rotated = KeySet(os.urandom(32), previous=[SSE_KEY])
    assert plain(path, [1000], rotated) == data
    with pytest.raises(BackendError) as caught:
        plain(path, [1000], KeySet(os.urandom(32)))
    assert "unknown key" in caught.value.message


def test_customer_streams_open_only_with_their_key(tmp_path: Path) -> None:
    keys = KeySet(SSE_KEY)
    key = os.urandom(32)
    data = os.urandom(5000)
    path = tmp_path / "obj"
    path.write_bytes(seal(keys, data, mode=MODE_CUSTOMER, kek_key=key))
    assert plain(path, [5000], keys, key) == data
    with pytest.raises(BackendError) as caught:
        plain(path, [5000], keys, os.urandom(32))
    assert caught.value.code == "AccessDenied"


def test_opened_sse_s3_keys_are_kept_and_only_those(tmp_path: Path) -> None:
    """An SSE-S3 header is opened once per process; a header that does not open is not
    kept, and an SSE-C one never is (each request must bring its key: the test above
    reads with the right key and then a wrong one on the same key set)."""
    keys = KeySet(SSE_KEY)
    data = os.urandom(5000)
    managed = seal(keys, data)
    path = tmp_path / "obj"
    path.write_bytes(managed)
    assert keys.opened(managed[:HEADER]) is None
    assert plain(path, [5000], keys) == data
    kept = keys.opened(managed[:HEADER])
    assert kept is not None
    assert plain(path, [5000], keys) == data and keys.opened(managed[:HEADER]) is kept
    _corrupt(path, HEADER - 20)  # the wrapped key
    with pytest.raises(BackendError):
        plain(path, [5000], keys)
    assert keys.opened(path.read_bytes()[:HEADER]) is None
    key = os.urandom(32)
    sealed = seal(keys, data, mode=MODE_CUSTOMER, kek_key=key)
    path.write_bytes(sealed)
    assert plain(path, [5000], keys, key) == data
    assert keys.opened(sealed[:HEADER]) is None


def test_customer_hmac_checks_the_key_and_never_holds_it() -> None:
    keys = KeySet(SSE_KEY)
    key = os.urandom(32)
    stored = keys.customer_hmac(key)
    assert base64.b64encode(key).decode() not in stored and key.hex() not in stored
    assert keys.customer_key_matches(stored, key)
    assert not keys.customer_key_matches(stored, os.urandom(32))
    assert not keys.customer_key_matches("not:valid", key)
    assert KeySet(os.urandom(32), previous=[SSE_KEY]).customer_key_matches(stored, key)
    # Keyed under a master key no longer configured: an error naming it, not "wrong key".
    with pytest.raises(BackendError, match="unknown key") as caught:
        KeySet(os.urandom(32)).customer_key_matches(stored, key)
    assert caught.value.code == "InternalError"


# -- the backend -----------------------------------------------------------------------


@pytest.fixture
async def fs(tmp_path: Path) -> AsyncIterator[FilesystemBackend]:
    backend = FilesystemBackend(
        tmp_path / "data", fsync=False, min_part_size=64 * 1024, sse_key=SSE_KEY
    )
    await backend.start()
    await backend.create_bucket("bkt")
    yield backend
    await backend.close()


def data_file(fs: FilesystemBackend, key: str) -> Path:
    return fs.files.object_path(fs.find("bkt", key).data_id)


async def test_sse_s3_object_is_ciphertext_on_disk(fs: FilesystemBackend) -> None:
    data = b"payroll of private-hr " * 20_000
    info = await fs.put_object(
        "bkt", "k", payload(data), ObjectMeta(), encryption=Encryption(algorithm="AES256")
    )
    assert info.meta.server_side_encryption == "AES256"
    assert info.etag == hashlib.md5(data).hexdigest()  # SSE-S3 ETags stay MD5s, as in S3
    raw = data_file(fs, "k").read_bytes()
    assert b"payroll" not in raw and len(raw) == stream_length(len(data))
    assert await read_all(await fs.get_object("bkt", "k")) == data
    read = await fs.get_object("bkt", "k", byte_range=ByteRange(start=SEGMENT - 3, end=SEGMENT + 3))
    assert read.path is None  # no sendfile of ciphertext
    assert await read_all(read) == data[SEGMENT - 3 : SEGMENT + 4]


def _count_opens(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Segments opened from now on (``StreamKey.open`` still runs)."""
    opens: list[int] = []
    real = StreamKey.open

    def counted(self: StreamKey, index: int, blob: bytes | memoryview, *, final: bool) -> bytes:
        opens.append(index)
        return real(self, index, blob, final=final)

    monkeypatch.setattr(StreamKey, "open", counted)
    return opens


async def test_a_small_sse_s3_object_is_opened_once_per_worker(
    fs: FilesystemBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    opens = _count_opens(monkeypatch)
    sse = Encryption(algorithm="AES256")
    first, second = os.urandom(4096), os.urandom(SEGMENT)  # inline, up to INLINE_MAX
    await fs.put_object("bkt", "k", payload(first), ObjectMeta(), encryption=sse)
    assert await read_all(await fs.get_object("bkt", "k")) == first
    assert len(opens) == 1
    assert await read_all(await fs.get_object("bkt", "k")) == first
    ranged = await fs.get_object("bkt", "k", byte_range=ByteRange(start=10, end=19))
    assert await read_all(ranged) == first[10:20]
    assert len(opens) == 1  # the plaintext was kept by data id
    data_id = fs.find("bkt", "k").data_id
    assert fs._opened.get(data_id) == first
    assert fs.db._inline.get(data_id) is None  # in place of the ciphertext, not beside it
    # a new body is a new data id: read (and opened) anew, never the old plaintext
    await fs.put_object("bkt", "k", payload(second), ObjectMeta(), encryption=sse)
    for _ in range(2):
        assert await read_all(await fs.get_object("bkt", "k")) == second
    assert len(opens) == 2
    # a body kept in a file is opened by every read, as before
    await fs.put_object("bkt", "big", payload(os.urandom(200_000)), ObjectMeta(), encryption=sse)
    await read_all(await fs.get_object("bkt", "big"))
    per_read = len(opens) - 2
    await read_all(await fs.get_object("bkt", "big"))
    assert per_read == segments(200_000) and len(opens) == 2 + 2 * per_read


async def test_an_sse_c_plaintext_is_never_kept(
    fs: FilesystemBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    opens = _count_opens(monkeypatch)
    key = customer(os.urandom(32))
    secret = os.urandom(3000)
    await fs.put_object(
        "bkt", "c", payload(secret), ObjectMeta(), encryption=Encryption(customer=key)
    )
    for n in range(1, 3):
        read = await fs.get_object("bkt", "c", encryption=Encryption(customer=key))
        assert await read_all(read) == secret
        assert len(opens) == n  # each read opens it with the key it brings
    assert secret not in fs._opened._entries.values()
    with pytest.raises(BackendError) as caught:
        await fs.get_object("bkt", "c")
    assert caught.value.code == "InvalidRequest"


async def test_plaintext_read_inside_a_write_transaction_is_not_kept(fs: FilesystemBackend) -> None:
    data = os.urandom(100)
    await fs.put_object(
        "bkt", "k", payload(data), ObjectMeta(), encryption=Encryption(algorithm="AES256")
    )
    row = fs.find("bkt", "k")
    meta = row.to_info("bkt").meta
    with fs.db.write():
        assert inline_plaintext(fs.db, fs._opened, row, meta, fs.keys, None) == data
    assert len(fs._opened) == 0
    assert inline_plaintext(fs.db, fs._opened, row, meta, fs.keys, None) == data
    assert len(fs._opened) == 1


async def test_without_a_key_encryption_is_refused_not_skipped(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path / "nokeys", fsync=False)
    await backend.start()
    try:
        await backend.create_bucket("bkt")
        with pytest.raises(BackendError) as caught:
            await backend.put_object(
                "bkt", "k", payload(b"x"), ObjectMeta(), encryption=Encryption(algorithm="AES256")
            )
        assert caught.value.code == "NotImplemented"
        assert not (await backend.list_objects("bkt")).objects
    finally:
        await backend.close()


async def test_sse_c_multipart_and_copies_keep_the_part_layout(fs: FilesystemBackend) -> None:
    key = customer(os.urandom(32))
    chunks = [os.urandom(70_000), os.urandom(SEGMENT), os.urandom(9)]
    upload = await fs.create_multipart_upload(
        "bkt", "m", ObjectMeta(), encryption=Encryption(customer=key)
    )
    assert upload.meta.sse_customer_key_md5 == key.key_md5
    with pytest.raises(BackendError) as caught:
        await fs.upload_part("bkt", "m", upload.upload_id, 1, payload(chunks[0]))
    assert caught.value.code == "InvalidRequest"
    with pytest.raises(BackendError) as caught:
        await fs.upload_part(
            "bkt",
            "m",
            upload.upload_id,
            1,
            payload(chunks[0]),
            encryption=Encryption(customer=customer(os.urandom(32))),
        )
    assert caught.value.code == "InvalidArgument"
    parts = []
    for number, chunk in enumerate(chunks, 1):
        part = await fs.upload_part(
            "bkt",
            "m",
            upload.upload_id,
            number,
            payload(chunk),
            encryption=Encryption(customer=key),
        )
        assert part.etag != hashlib.md5(chunk).hexdigest()  # SSE-C ETags are not MD5s
        parts.append((number, part.etag))
    await fs.complete_multipart_upload("bkt", "m", upload.upload_id, parts)
    whole = b"".join(chunks)
    assert len(data_file(fs, "m").read_bytes()) == sum(stream_length(len(c)) for c in chunks)
    opened = Encryption(customer=key)
    assert await read_all(await fs.get_object("bkt", "m", encryption=opened)) == whole
    for number, chunk in enumerate(chunks, 1):
        read = await fs.get_object("bkt", "m", part_number=number, encryption=opened)
        assert await read_all(read) == chunk
    # SSE-C -> SSE-S3: re-encrypted part by part, the multipart ETag recomputed
    info = await fs.copy_object(
        CopySource("bkt", "m"),
        "bkt",
        "copy",
        encryption=Encryption(algorithm="AES256", copy_source_customer=key),
    )
    md5s = b"".join(hashlib.md5(c).digest() for c in chunks)
    assert info.etag == f"{hashlib.md5(md5s).hexdigest()}-3"
    assert info.meta.server_side_encryption == "AES256" and info.meta.sse_customer_algorithm is None
    read = await fs.get_object("bkt", "copy", part_number=2)
    assert await read_all(read) == chunks[1]
    # a range of the SSE-S3 copy into a plain upload (UploadPartCopy decrypts)
    plain_upload = await fs.create_multipart_upload("bkt", "p", ObjectMeta())
    part = await fs.upload_part_copy(
        CopySource("bkt", "copy", byte_range=(69_990, 70_100)),
        "bkt",
        "p",
        plain_upload.upload_id,
        1,
    )
    await fs.complete_multipart_upload("bkt", "p", plain_upload.upload_id, [(1, part.etag)])
    assert data_file(fs, "p").read_bytes() == whole[69_990:70_101]


async def test_bucket_default_applies_only_when_the_request_names_none(
    fs: FilesystemBackend,
) -> None:
    with pytest.raises(BackendError) as caught:
        await fs.get_bucket_encryption("bkt")
    assert caught.value.code == "ServerSideEncryptionConfigurationNotFoundError"
    await fs.put_bucket_encryption("bkt", BucketEncryption())
    assert (await fs.get_bucket_encryption("bkt")).algorithm == "AES256"
    info = await fs.put_object("bkt", "d", payload(b"by default"), ObjectMeta())
    assert info.meta.server_side_encryption == "AES256"
    assert b"by default" not in stored_bytes(fs, "bkt", "d")
    key = customer(os.urandom(32))
    info = await fs.put_object(
        "bkt", "c", payload(b"own key"), ObjectMeta(), encryption=Encryption(customer=key)
    )
    assert info.meta.server_side_encryption is None and info.meta.sse_customer_algorithm
    await fs.delete_bucket_encryption("bkt")
    await fs.delete_bucket_encryption("bkt")  # idempotent
    info = await fs.put_object("bkt", "p", payload(b"plain again"), ObjectMeta())
    assert info.meta.server_side_encryption is None
    assert stored_bytes(fs, "bkt", "p") == b"plain again"
    with pytest.raises(BackendError) as caught:
        await fs.put_bucket_encryption("nope", BucketEncryption())
    assert caught.value.code == "NoSuchBucket"


async def test_a_wrong_key_fails_before_conditions_and_bytes(fs: FilesystemBackend) -> None:
    key = customer(os.urandom(32))
    info = await fs.put_object(
        "bkt", "c", payload(b"x" * 10), ObjectMeta(), encryption=Encryption(customer=key)
    )
    # a matching If-None-Match would answer 304 with the ETag: the key comes first
    with pytest.raises(BackendError) as caught:
        await fs.head_object(
            "bkt",
            "c",
            conditions=Conditions(if_none_match=(info.etag,)),
            encryption=Encryption(customer=customer(os.urandom(32))),
        )
    assert caught.value.code == "AccessDenied"
    with pytest.raises(BackendError) as caught:
        await fs.copy_object(CopySource("bkt", "c"), "bkt", "stolen")
    assert caught.value.code == "InvalidRequest"
    with pytest.raises(BackendError):
        await fs.head_object("bkt", "stolen")
