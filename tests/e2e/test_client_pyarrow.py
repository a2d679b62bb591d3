"""pyarrow's S3FileSystem (the AWS C++ SDK) against the gateway: Parquet files and datasets
written and read back, selectors over the listing, streamed and random-access reads,
copies, moves and directory deletes. pyarrow makes and deletes buckets only when told to
(`allow_bucket_creation`, `allow_bucket_deletion`).
"""

from __future__ import annotations

import os

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from pyarrow import fs as pafs

from tests.e2e.clients import BIG, pyarrow_filesystem
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique


def test_parquet_datasets_and_files(client_gateway: Gateway) -> None:
    s3 = pyarrow_filesystem(client_gateway)
    bucket = unique("pyarrow")
    s3.create_dir(bucket)
    table = pa.table({"n": range(100_000), "s": [f"row {i}" for i in range(100_000)]})
    pq.write_table(table, f"{bucket}/table.parquet", filesystem=s3)
    ds.write_dataset(
        table,
        f"{bucket}/dataset",
        format="parquet",
        filesystem=s3,
        max_rows_per_file=30_000,
        max_rows_per_group=30_000,
    )

    assert pq.read_table(f"{bucket}/table.parquet", filesystem=s3).equals(table)
    dataset = ds.dataset(f"{bucket}/dataset", format="parquet", filesystem=s3)
    assert dataset.to_table().sort_by("n").equals(table)
    assert dataset.count_rows(filter=ds.field("n") < 10) == 10
    selected = s3.get_file_info(pafs.FileSelector(bucket, recursive=True))
    assert sorted(info.path for info in selected if info.type == pafs.FileType.File) == [
        f"{bucket}/dataset/part-{i}.parquet" for i in range(4)
    ] + [f"{bucket}/table.parquet"]

    big = os.urandom(BIG)
    with s3.open_output_stream(f"{bucket}/big") as out:  # multipart: parts of 10 MiB
        out.write(big)
    info = s3.get_file_info(f"{bucket}/big")
    assert info.type == pafs.FileType.File and info.size == BIG
    with s3.open_input_file(f"{bucket}/big") as handle:
        handle.seek(7_000_000)
        assert handle.read(100) == big[7_000_000:7_000_100]
    with s3.open_input_stream(f"{bucket}/big") as stream:
        assert stream.read() == big

    s3.copy_file(f"{bucket}/big", f"{bucket}/copy")
    s3.move(f"{bucket}/copy", f"{bucket}/moved")
    assert s3.get_file_info(f"{bucket}/copy").type == pafs.FileType.NotFound
    with s3.open_input_stream(f"{bucket}/moved") as stream:
        assert stream.read() == big
    s3.delete_dir(f"{bucket}/dataset")
    assert s3.get_file_info(f"{bucket}/dataset").type == pafs.FileType.NotFound
    s3.delete_dir(bucket)
    assert s3.get_file_info(bucket).type == pafs.FileType.NotFound
