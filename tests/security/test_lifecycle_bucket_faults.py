"""Class: one bucket's fault stops the lifecycle sweep of every bucket.

The sweeper goes through the buckets in name order. A bucket whose sweep raised anything
but a backend refusal (a stored configuration it cannot read, a day count it could not
compute, any bug) failed the whole pass, and the next pass began at the same bucket: no
bucket after it, of any account, was swept again. Such a bucket is now logged and
skipped for the cycle, as a backend refusal always was (docs/lifecycle.md).

The fault here is a stored configuration that is not XML, as a damaged state store (or
one written by another version) would hold: written into the running gateway's SQLite
state store, the way such a row would be there.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.fixture_util import own_gateway
from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import keys_of

WAIT = 30.0


@pytest.fixture(scope="module")
def swept(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    env = {"NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.2", "NFYIO_LIFECYCLE_LEASE_SECONDS": "60"}
    yield from own_gateway(tmp_path_factory, "faults", extra_env=env)


def test_a_bucket_that_cannot_be_swept_does_not_stop_the_others(swept: Gateway) -> None:
    s3 = swept.client()
    tag = uuid.uuid4().hex[:12]
    broken, later = f"a-broken-{tag}", f"z-later-{tag}"  # swept in name order
    past = {"ID": "past", "Status": "Enabled", "Filter": {}, "Expiration": {"Date": "2020-01-01"}}
    for name in (broken, later):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="old", Body=b"x")
    s3.put_bucket_lifecycle_configuration(Bucket=broken, LifecycleConfiguration={"Rules": [past]})
    with sqlite3.connect(swept.data_dir / "identity.db") as db:
        changed = db.execute(
            "UPDATE bucket_settings SET document = '<LifecycleConfiguration' "
            "WHERE bucket = ? AND kind = 'lifecycle'",
            (broken,),
        ).rowcount
    assert changed == 1
    s3.put_bucket_lifecycle_configuration(Bucket=later, LifecycleConfiguration={"Rules": [past]})

    deadline = time.monotonic() + WAIT
    while keys_of(s3, later) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert keys_of(s3, later) == [], swept.log()[-3000:]
    assert keys_of(s3, broken) == ["old"]
    assert f"lifecycle: bucket {broken} skipped this cycle" in swept.log()
