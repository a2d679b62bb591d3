#!/usr/bin/env python3
"""nfyio-gateway from DuckDB: write Parquet to a bucket with COPY, query it in place.

    pip install duckdb                                       # and boto3, for the bucket
    export AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=...   # an nfyio access key pair
    python examples/duckdb-parquet.py                        # against `make run`

AWS_ENDPOINT_URL points it at another gateway (default http://localhost:7007); for HTTPS
with a private CA, set SSL_CERT_FILE=/path/to/ca.pem. DuckDB's httpfs extension comes
from the `duckdb-ext-httpfs` package when it is installed (as in this project's venv),
otherwise DuckDB downloads it on first use.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import duckdb

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL", "http://localhost:7007")


def connect(key_id: str, secret: str) -> duckdb.DuckDBPyConnection:
    bundled = Path(sysconfig.get_paths()["purelib"]) / "duckdb_ext" / "extensions"
    con = duckdb.connect(config={"extension_directory": str(bundled)} if bundled.is_dir() else {})
    con.execute("INSTALL httpfs")  # a no-op when the extension is already there
    con.execute("LOAD httpfs")
    url = urlsplit(ENDPOINT)
    https = url.scheme == "https"
    if https:  # httpfs checks the server's certificate only when told to
        con.execute("SET enable_server_cert_verification = true")
        if os.environ.get("SSL_CERT_FILE"):
            con.execute("SET ca_cert_file = ?", [os.environ["SSL_CERT_FILE"]])
    # Path-style requests to the gateway's host and port; any region works.
    con.execute(
        "CREATE SECRET nfyio (TYPE s3, KEY_ID ?, SECRET ?, ENDPOINT ?, URL_STYLE 'path', "
        "USE_SSL ?, REGION 'us-east-1')",
        [key_id, secret, url.netloc, https],
    )
    return con


def main() -> int:
    key_id = os.environ.get("AWS_ACCESS_KEY_ID")
    secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
    if not (key_id and secret):
        print("Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an nfyio access key pair.")
        return 2
    bucket = os.environ.get("NFYIO_BUCKET", "duckdb-demo")
    verify = os.environ.get("SSL_CERT_FILE") if ENDPOINT.startswith("https") else None
    s3 = boto3.client("s3", endpoint_url=ENDPOINT, region_name="us-east-1", verify=verify)
    s3.create_bucket(Bucket=bucket)  # DuckDB writes objects, not buckets
    print(f"created bucket {bucket}")

    con = connect(key_id, secret)
    con.execute(
        f"COPY (SELECT range AS id, range % 7 AS day, random() AS amount FROM range(100000)) "
        f"TO 's3://{bucket}/sales' (FORMAT parquet, PARTITION_BY (day))"
    )
    files = con.execute(f"SELECT count(*) FROM glob('s3://{bucket}/sales/**')").fetchone()
    print(f"wrote {files[0] if files else 0} Parquet files")
    rows = con.execute(
        f"SELECT day, count(*) FROM read_parquet('s3://{bucket}/sales/*/*.parquet', "
        "hive_partitioning = true) GROUP BY day ORDER BY day"
    ).fetchall()
    for day, count in rows:
        print(f"  day {day}: {count} rows")

    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    for item in listed:
        s3.delete_object(Bucket=bucket, Key=item["Key"])
    s3.delete_bucket(Bucket=bucket)
    print(f"cleaned up {bucket}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
