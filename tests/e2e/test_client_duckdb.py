"""DuckDB's httpfs extension against the gateway: COPY ... TO s3:// (one PUT, or its own
multipart upload for a large file), Parquet and CSV read back with ranged GETs,
hive-partitioned writes, globs over the listing. The extension is the one released with
DuckDB, installed from PyPI (`duckdb-ext-httpfs`): DuckDB would otherwise download it at
run time.
"""

from __future__ import annotations

import hashlib
import sysconfig
from pathlib import Path

import duckdb

from tests.e2e.clients import hostport
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import unique

ROWS = 600_000
EXTENSIONS = Path(sysconfig.get_paths()["purelib"]) / "duckdb_ext" / "extensions"


def connect(gateway: Gateway) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(
        config={
            "extension_directory": str(EXTENSIONS),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    con.execute("LOAD httpfs")
    if gateway.tls_ca:  # httpfs does not verify certificates unless told to
        con.execute("SET enable_server_cert_verification = true")
        con.execute("SET ca_cert_file = ?", [gateway.tls_ca])
    con.execute(
        "CREATE SECRET gateway (TYPE s3, KEY_ID ?, SECRET ?, ENDPOINT ?, URL_STYLE 'path', "
        "USE_SSL ?, REGION 'us-east-1')",
        [gateway.access_key, gateway.secret_key, hostport(gateway), bool(gateway.tls_ca)],
    )
    return con


def test_copy_to_and_query(client_gateway: Gateway) -> None:
    bucket = unique("duckdb")
    client_gateway.client().create_bucket(Bucket=bucket)
    con = connect(client_gateway)
    # about 26 MB of Parquet: one PUT with httpfs's defaults, and a multipart upload of
    # 5 MB parts when its largest file is set to 50 GB (it makes parts of 1/10,000 of that)
    rows = f"SELECT range AS n, md5(range::VARCHAR) AS s FROM range({ROWS})"
    parquet = "(FORMAT parquet, COMPRESSION uncompressed)"
    con.execute(f"COPY ({rows}) TO 's3://{bucket}/table.parquet' {parquet}")
    con.execute("SET s3_uploader_max_filesize = '50GB'")
    con.execute(f"COPY ({rows}) TO 's3://{bucket}/multipart.parquet' {parquet}")
    s3 = client_gateway.client()
    single = s3.head_object(Bucket=bucket, Key="table.parquet")
    multipart = s3.head_object(Bucket=bucket, Key="multipart.parquet")
    assert "-" not in single["ETag"] and multipart["ETag"].endswith('-5"'), multipart["ETag"]
    assert multipart["ContentLength"] == single["ContentLength"]
    con.execute(
        f"COPY (SELECT range AS n, range % 3 AS p FROM range(30000)) "
        f"TO 's3://{bucket}/parts' (FORMAT parquet, PARTITION_BY (p))"
    )
    con.execute(f"COPY (SELECT 1 AS a, 'x,y' AS b) TO 's3://{bucket}/small.csv' (HEADER)")

    digests = [hashlib.md5(str(n).encode()).hexdigest() for n in range(ROWS)]
    assert con.execute(
        f"SELECT count(*), sum(n), max(s) FROM 's3://{bucket}/table.parquet'"
    ).fetchall() == [(ROWS, sum(range(ROWS)), max(digests))]
    # a filter on one row group: DuckDB reads the footer and that group's ranges only
    assert con.execute(
        f"SELECT s FROM 's3://{bucket}/multipart.parquet' WHERE n = 123456"
    ).fetchall() == [(digests[123456],)]
    assert con.execute(
        f"SELECT count(*) FROM 's3://{bucket}/table.parquet' t "
        f"JOIN 's3://{bucket}/multipart.parquet' m USING (n) WHERE t.s = m.s"
    ).fetchall() == [(ROWS,)]
    assert con.execute(
        f"SELECT p, count(*) FROM read_parquet('s3://{bucket}/parts/*/*.parquet', "
        "hive_partitioning = true) GROUP BY p ORDER BY p"
    ).fetchall() == [(0, 10000), (1, 10000), (2, 10000)]
    keys = ["multipart.parquet", *(f"parts/p={p}/data_0.parquet" for p in range(3))]
    keys += ["small.csv", "table.parquet"]
    globbed = con.execute(f"SELECT file FROM glob('s3://{bucket}/**') ORDER BY file").fetchall()
    assert globbed == [(f"s3://{bucket}/{key}",) for key in keys]
    assert con.execute(f"SELECT * FROM read_csv('s3://{bucket}/small.csv')").fetchall() == [
        (1, "x,y")
    ]
