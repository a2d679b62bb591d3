"""Polars (its cloud I/O is the Rust `object_store` crate) against the gateway: DataFrames
written to ``s3://`` as Parquet (one PUT; a multipart upload once the file outgrows
`POLARS_UPLOAD_CHUNK_SIZE`, tens of MiB unless set) and CSV, hive-partitioned writes,
files read whole, scanned lazily with a filter (the footer, then ranged GETs) and globbed
over the listing, keys with a space, a plus and non-ASCII characters. Over HTTPS Polars
trusts only the certificates in `SSL_CERT_FILE`: it has no storage option for a CA.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.e2e.clients import PART, polars_environment, polars_options
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique

ROWS = 600_000
"""About 14 MB of uncompressed Parquet: three parts of PART bytes."""


def test_write_scan_and_read(client_gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in polars_environment(client_gateway).items():
        monkeypatch.setenv(name, value)
    bucket = unique("polars")
    client_gateway.client().create_bucket(Bucket=bucket)
    options = polars_options(client_gateway)
    base = f"s3://{bucket}"
    frame = pl.DataFrame({"n": range(ROWS), "s": [f"row {n:08}" for n in range(ROWS)]})
    frame.write_parquet(
        f"{base}/table.parquet",
        storage_options=options,
        compression="uncompressed",
        row_group_size=100_000,
    )
    monkeypatch.setenv("POLARS_UPLOAD_CHUNK_SIZE", str(PART))
    frame.lazy().sink_parquet(  # streamed out as it is encoded
        f"{base}/multipart.parquet",
        storage_options=options,
        compression="uncompressed",
        row_group_size=100_000,
    )
    s3 = client_gateway.client()
    single = s3.head_object(Bucket=bucket, Key="table.parquet")
    multipart = s3.head_object(Bucket=bucket, Key="multipart.parquet")
    assert "-" not in single["ETag"] and multipart["ETag"].endswith('-3"'), multipart["ETag"]
    frame.with_columns(p=pl.col("n") % 3).write_parquet(
        f"{base}/parts", storage_options=options, partition_by="p"
    )
    frame.head(3).write_csv(
        f"{base}/dir with space+plus/\u00fcnic\u00f8de.csv", storage_options=options
    )

    assert pl.read_parquet(f"{base}/table.parquet", storage_options=options).equals(frame)
    assert pl.read_parquet(f"{base}/multipart.parquet", storage_options=options).equals(frame)
    scanned = pl.scan_parquet(f"{base}/multipart.parquet", storage_options=options)
    assert scanned.filter(pl.col("n") == 123_456).collect().rows() == [(123_456, "row 00123456")]
    gets = [
        line
        for line in client_gateway.log().splitlines()
        if f"path=/{bucket}/multipart.parquet op=GetObject " in line
    ]
    # read whole or scanned, Polars reads a file in ranges: never one plain GET
    assert gets and all("status=206" in line for line in gets), gets
    partitioned = pl.scan_parquet(
        f"{base}/parts/**/*.parquet", storage_options=options, hive_partitioning=True
    )
    counts = partitioned.group_by("p").len().sort("p").collect().rows()
    assert counts == [(0, ROWS // 3), (1, ROWS // 3), (2, ROWS // 3)]
    csv = pl.read_csv(f"{base}/dir with space+plus/\u00fcnic\u00f8de.csv", storage_options=options)
    assert csv.equals(frame.head(3))
    lazy_csv = pl.scan_csv(f"{base}/dir with space+plus/*.csv", storage_options=options)
    assert lazy_csv.select(pl.col("n").sum()).collect().item() == 3
