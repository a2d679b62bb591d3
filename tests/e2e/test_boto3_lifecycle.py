"""Bucket lifecycle configuration through boto3 on every gateway (HTTP, HTTPS, both
backends): the operations, AWS's validation, and the headers announcing what a rule
will do (``x-amz-expiration``, ``x-amz-abort-date``). The sweeper itself:
test_lifecycle_sweeper.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import expect_error, unique, upstream

EXPIRATION = re.compile(r'expiry-date="([^"]+)", rule-id="([^"]+)"')


def config(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"Rules": list(rules)}


def expire(rule_id: str, days: int = 1, **filter_: Any) -> dict[str, Any]:
    return {
        "ID": rule_id,
        "Status": "Enabled",
        "Filter": filter_ or {"Prefix": ""},
        "Expiration": {"Days": days},
    }


def next_midnight_after(when: datetime, days: int) -> datetime:
    end = when + timedelta(days=days)
    midnight = end.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight if midnight == end else midnight + timedelta(days=1)


def test_put_get_delete(s3: Any, bucket: str) -> None:
    expect_error("NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration,
                 Bucket=bucket)  # fmt: skip
    rules = [
        {
            "ID": "logs",
            "Status": "Enabled",
            "Filter": {"Prefix": "logs/"},
            "Expiration": {"Days": 30},
        },
        {
            "ID": "versions",
            "Status": "Disabled",
            "Filter": {
                "And": {
                    "Prefix": "data/",
                    "Tags": [{"Key": "class", "Value": "tmp"}],
                    "ObjectSizeGreaterThan": 1,
                    "ObjectSizeLessThan": 1000,
                }
            },
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7, "NewerNoncurrentVersions": 3},
        },
        {
            "ID": "uploads",
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
        },
        {
            "ID": "markers",
            "Status": "Enabled",
            "Filter": {},
            "Expiration": {"ExpiredObjectDeleteMarker": True},
        },
        {
            "ID": "dated",
            "Status": "Enabled",
            "Filter": {"Tag": {"Key": "a", "Value": "b"}},
            "Expiration": {"Date": datetime(2040, 1, 1, tzinfo=UTC)},
        },
    ]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config(*rules))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in got] == ["logs", "versions", "uploads", "markers", "dated"]
    assert got[0]["Filter"] == {"Prefix": "logs/"} and got[0]["Expiration"] == {"Days": 30}
    assert got[1]["Status"] == "Disabled"
    assert got[1]["Filter"]["And"]["Tags"] == [{"Key": "class", "Value": "tmp"}]
    assert got[1]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 7,
        "NewerNoncurrentVersions": 3,
    }
    assert got[2]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 2}
    assert got[3]["Expiration"] == {"ExpiredObjectDeleteMarker": True}
    assert got[4]["Expiration"]["Date"] == datetime(2040, 1, 1, tzinfo=UTC)
    # a new configuration replaces the whole old one
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=config(expire("only"))
    )
    assert [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]] == [
        "only"
    ]
    answer = s3.delete_bucket_lifecycle(Bucket=bucket)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error("NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration,
                 Bucket=bucket)  # fmt: skip
    s3.delete_bucket_lifecycle(Bucket=bucket)  # nothing to delete: still 204


def test_and_filters_read_back_as_sent(s3: Any, bucket: str) -> None:
    """An ``And`` comes back with its tags in the order sent, and with a ``Prefix`` only
    when it was sent one (the gateway sorted the tags and added ``<Prefix></Prefix>``:
    tools comparing what they put with what they get saw a change that never ends)."""
    tags = [{"Key": "z", "Value": "1"}, {"Key": "a", "Value": ""}]
    filters: list[dict[str, Any]] = [
        {"And": {"Prefix": "logs/", "Tags": tags}},
        {"And": {"Tags": tags}},
        {"And": {"Tags": tags[:1], "ObjectSizeGreaterThan": 10}},
        {"And": {"Prefix": "", "Tags": tags[1:]}},
    ]
    rules = [expire(f"r{n}", **f) for n, f in enumerate(filters)]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config(*rules))
    got = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["Filter"] for r in got] == filters


def test_a_tag_without_value_is_malformed(any_gateway: Gateway, bucket: str) -> None:
    """S3's ``Tag`` requires ``Value`` (it may be empty): ``MalformedXML``, nothing stored."""
    s3 = any_gateway.client(parameter_validation=False)
    filters: list[dict[str, Any]] = [
        {"Tag": {"Key": "k"}},
        {"And": {"Prefix": "p/", "Tags": [{"Key": "k"}]}},
    ]
    for filter_ in filters:
        expect_error(
            "MalformedXML",
            400,
            s3.put_bucket_lifecycle_configuration,
            Bucket=bucket,
            LifecycleConfiguration=config(expire("t", **filter_)),
        )
    expect_error("NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration,
                 Bucket=bucket)  # fmt: skip


def test_rules_without_id_get_one(s3: Any, bucket: str) -> None:
    rule = expire("x")
    del rule["ID"]
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config(rule))
    [got] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert len(got["ID"]) == 48


@pytest.mark.parametrize(
    ("rule", "code", "status"),
    [
        (
            {"ID": "t", "Status": "Enabled", "Filter": {}, "Transitions": [
                {"Days": 30, "StorageClass": "GLACIER"}]},
            "NotImplemented",
            501,
        ),
        (
            {"ID": "d", "Status": "Enabled", "Filter": {},
             "Expiration": {"Days": 1, "ExpiredObjectDeleteMarker": True}},
            "MalformedXML",
            400,
        ),
        ({"ID": "z", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 0}},
         "InvalidArgument", 400),
        ({"ID": "n", "Status": "Enabled", "Filter": {}}, "InvalidRequest", 400),
        (
            {"ID": "m", "Status": "Enabled", "Filter": {},
             "Expiration": {"Date": datetime(2040, 1, 1, 12, tzinfo=UTC)}},
            "InvalidArgument",
            400,
        ),
        (
            {"ID": "a", "Status": "Enabled", "Filter": {"Tag": {"Key": "k", "Value": "v"}},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            "InvalidRequest",
            400,
        ),
        (
            {"ID": "v", "Status": "Enabled", "Filter": {}, "NoncurrentVersionExpiration": {
                "NoncurrentDays": 1, "NewerNoncurrentVersions": 101}},
            "InvalidArgument",
            400,
        ),
    ],
    ids=["transition", "marker-and-days", "days-0", "no-action", "date-not-midnight",
         "abort-with-tag", "newer-noncurrent-over-100"],
)  # fmt: skip
def test_refused_configurations(
    s3: Any, bucket: str, rule: dict[str, Any], code: str, status: int
) -> None:
    expect_error(
        code,
        status,
        s3.put_bucket_lifecycle_configuration,
        Bucket=bucket,
        LifecycleConfiguration=config(rule),
    )
    expect_error("NoSuchLifecycleConfiguration", 404, s3.get_bucket_lifecycle_configuration,
                 Bucket=bucket)  # fmt: skip


def test_a_configuration_too_large_to_keep_is_refused(s3: Any, bucket: str) -> None:
    """A thousand rules are allowed; with IDs and prefixes of 255 characters they no longer
    fit the 256 KiB the gateway keeps of a configuration: 400, not the 500 it was, and the
    configuration before stays."""
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config(expire("e")))
    rules = [
        expire(f"{i:04d}".ljust(255, "r"), 30, Prefix=f"{i:04d}".ljust(255, "p"))
        for i in range(1000)
    ]
    expect_error(
        "MaxMessageLengthExceeded",
        400,
        s3.put_bucket_lifecycle_configuration,
        Bucket=bucket,
        LifecycleConfiguration=config(*rules),
    )
    kept = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert [r["ID"] for r in kept] == ["e"]
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration=config(*rules[:400])
    )
    assert len(s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 400


def test_lifecycle_needs_a_bucket(s3: Any, bucket: str) -> None:
    ghost = bucket + "-ghost"
    expect_error(
        "NoSuchBucket",
        404,
        s3.put_bucket_lifecycle_configuration,
        Bucket=ghost,
        LifecycleConfiguration=config(expire("e")),
    )
    assert ghost not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_transition_default_minimum_object_size_reads_back(s3: Any, bucket: str) -> None:
    """S3 answers ``x-amz-transition-default-minimum-object-size`` on Put and Get, the
    value put (default ``all_storage_classes_128K``). Terraform's AWS provider waits after
    a put until Get answers its value: without the header it waited forever."""

    def put(**extra: Any) -> Any:
        return s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration=config(expire("e")), **extra
        )

    def got() -> Any:
        return s3.get_bucket_lifecycle_configuration(Bucket=bucket).get(
            "TransitionDefaultMinimumObjectSize"
        )

    assert put()["TransitionDefaultMinimumObjectSize"] == "all_storage_classes_128K"
    assert got() == "all_storage_classes_128K"
    varies = {"TransitionDefaultMinimumObjectSize": "varies_by_storage_class"}
    assert put(**varies)["TransitionDefaultMinimumObjectSize"] == "varies_by_storage_class"
    assert got() == "varies_by_storage_class"
    expect_error("InvalidArgument", 400, put, TransitionDefaultMinimumObjectSize="all_64K")
    assert got() == "varies_by_storage_class"  # the refused put changed nothing
    s3.delete_bucket_lifecycle(Bucket=bucket)
    put()
    assert got() == "all_storage_classes_128K"  # the delete took the old value along


def _expiration(headers: dict[str, str]) -> tuple[datetime, str] | None:
    value = headers.get("x-amz-expiration")
    if value is None:
        return None
    found = EXPIRATION.fullmatch(value)
    assert found is not None, value
    return parsedate_to_datetime(found[1]), found[2]


def test_expiration_header(s3: Any, bucket: str) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration=config(
            expire("month rule", 30),
            expire("logs rule", 3, Prefix="logs/"),
        ),
    )
    put = s3.put_object(Bucket=bucket, Key="logs/a", Body=b"x")
    head = s3.head_object(Bucket=bucket, Key="logs/a")
    created = head["LastModified"]
    expected = (next_midnight_after(created, 3), "logs rule")
    assert _expiration(put["ResponseMetadata"]["HTTPHeaders"]) == expected
    assert _expiration(head["ResponseMetadata"]["HTTPHeaders"]) == expected
    got = s3.get_object(Bucket=bucket, Key="logs/a")
    assert _expiration(got["ResponseMetadata"]["HTTPHeaders"]) == expected
    assert got["Expiration"] == head["Expiration"]  # boto3 reads the header too
    other = s3.put_object(Bucket=bucket, Key="other", Body=b"x")
    answer = _expiration(other["ResponseMetadata"]["HTTPHeaders"])
    assert answer is not None and answer[1] == "month rule"
    copied = s3.copy_object(
        Bucket=bucket, Key="logs/copy", CopySource={"Bucket": bucket, "Key": "other"}
    )
    answer = _expiration(copied["ResponseMetadata"]["HTTPHeaders"])
    assert answer is not None and answer[1] == "logs rule"


def test_expiration_header_follows_tags(s3: Any, bucket: str) -> None:
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration=config(expire("tmp", 1, Tag={"Key": "t", "Value": "1"})),
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    assert (
        "x-amz-expiration"
        not in s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    )
    s3.put_object_tagging(Bucket=bucket, Key="k", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    headers = s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    answer = _expiration(headers)
    assert answer is not None and answer[1] == "tmp"
    put = s3.put_object(Bucket=bucket, Key="j", Body=b"x", Tagging="t=1")
    assert _expiration(put["ResponseMetadata"]["HTTPHeaders"]) is not None


def test_no_expiration_header_for_a_named_version(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=config(expire("e")))
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
    headers = s3.head_object(Bucket=bucket, Key="k")["ResponseMetadata"]["HTTPHeaders"]
    assert "x-amz-expiration" in headers
    named = s3.head_object(Bucket=bucket, Key="k", VersionId=version)
    assert "x-amz-expiration" not in named["ResponseMetadata"]["HTTPHeaders"]


def test_abort_date_on_create_multipart_upload_and_list_parts(
    s3: Any, bucket: str, request: pytest.FixtureRequest
) -> None:
    """S3 announces the abort on both; the s3 backend's store names no start on ListParts,
    so the gateway finds it in the key's uploads."""
    s3.put_bucket_lifecycle_configuration(
        Bucket=bucket,
        LifecycleConfiguration=config(
            {
                "ID": "abort uploads",
                "Status": "Enabled",
                "Filter": {"Prefix": "up/"},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2},
            }
        ),
    )
    started = datetime.now(UTC)
    answer = s3.create_multipart_upload(Bucket=bucket, Key="up/big")
    assert answer["AbortRuleId"] == "abort uploads"
    assert answer["AbortDate"] in (
        next_midnight_after(started, 2),
        next_midnight_after(started + timedelta(seconds=5), 2),
    )
    other = s3.create_multipart_upload(Bucket=bucket, Key="down/big")
    assert "AbortRuleId" not in other
    # Another upload of the same key, begun later, keeps the rule's date of its own.
    again = s3.create_multipart_upload(Bucket=bucket, Key="up/big")
    uploads = s3.list_multipart_uploads(Bucket=bucket, Prefix="up/")["Uploads"]
    began = {upload["UploadId"]: upload["Initiated"] for upload in uploads}
    for created in (answer, again):
        parts = s3.list_parts(Bucket=bucket, Key="up/big", UploadId=created["UploadId"])
        assert parts["AbortRuleId"] == "abort uploads"
        assert parts["AbortDate"] == next_midnight_after(began[created["UploadId"]], 2)
        if not upstream(request):  # moto lists every upload as begun on 2010-11-10
            assert parts["AbortDate"] == created["AbortDate"]
    parts = s3.list_parts(Bucket=bucket, Key="down/big", UploadId=other["UploadId"])
    assert "AbortRuleId" not in parts and "AbortDate" not in parts


def test_lifecycle_scopes(gateway: Gateway) -> None:
    admin = gateway.client()
    name = unique("lcscope")
    admin.create_bucket(Bucket=name)
    reader_key = make_key(gateway, scopes=["read:buckets"])
    reader = gateway.client(reader_key["id"], reader_key["secret"])
    expect_error(
        "AccessDenied",
        403,
        reader.put_bucket_lifecycle_configuration,
        Bucket=name,
        LifecycleConfiguration=config(expire("e")),
    )
    admin.put_bucket_lifecycle_configuration(
        Bucket=name, LifecycleConfiguration=config(expire("e"))
    )
    assert reader.get_bucket_lifecycle_configuration(Bucket=name)["Rules"][0]["ID"] == "e"
    expect_error("AccessDenied", 403, reader.delete_bucket_lifecycle, Bucket=name)
