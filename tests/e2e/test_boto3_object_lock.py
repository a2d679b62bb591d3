"""Object Lock through boto3 (HTTP, HTTPS, upstream): bucket configuration, retention
modes, legal holds, the governance bypass and who may use it, the x-amz-object-lock-*
headers; and the scopes versioning requests need.

The bypass needs the ``bypass:governance`` scope (``admin`` has every scope); without it
the header is ignored and a GOVERNANCE version stays protected (docs/architecture.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.gateway_process import Gateway
from tests.e2e.rest_util import make_key
from tests.e2e.s3util import expect_error, raw_request, seaweedfs_deviates, sign, unique, upstream

DAY = timedelta(days=1)


@pytest.fixture
def locked(s3: Any) -> str:
    name = unique("lock")
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def soon() -> datetime:
    return datetime.now(UTC) + DAY


def close_to(value: datetime, expected: datetime) -> bool:
    return abs((value - expected).total_seconds()) < 120


def test_bucket_with_object_lock(s3: Any, locked: str) -> None:
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"
    config = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]
    assert config["ObjectLockEnabled"] == "Enabled"
    assert "DefaultRetention" not in config.get("Rule", {})
    expect_error(
        "InvalidBucketState",
        409,
        s3.put_bucket_versioning,
        Bucket=locked,
        VersioningConfiguration={"Status": "Suspended"},
    )
    assert s3.get_bucket_versioning(Bucket=locked)["Status"] == "Enabled"


def test_default_retention_applies_to_new_versions(
    s3: Any, locked: str, request: pytest.FixtureRequest
) -> None:
    s3.put_object_lock_configuration(
        Bucket=locked,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}},
        },
    )
    rule = s3.get_object_lock_configuration(Bucket=locked)["ObjectLockConfiguration"]["Rule"]
    assert rule["DefaultRetention"]["Mode"] == "GOVERNANCE"
    assert rule["DefaultRetention"]["Days"] == 2
    put = s3.put_object(Bucket=locked, Key="k", Body=b"x")
    head = s3.head_object(Bucket=locked, Key="k")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert close_to(head["ObjectLockRetainUntilDate"], datetime.now(UTC) + 2 * DAY)
    retention = s3.get_object_retention(Bucket=locked, Key="k", VersionId=put["VersionId"])
    assert retention["Retention"]["Mode"] == "GOVERNANCE"
    expect_error(
        "AccessDenied", 403, s3.delete_object, Bucket=locked, Key="k", VersionId=put["VersionId"]
    )
    if upstream(request):
        return  # moto refuses to change the configuration of a bucket that holds objects
    s3.put_object_lock_configuration(
        Bucket=locked,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}},
        },
    )
    s3.put_object(Bucket=locked, Key="y", Body=b"x")
    head = s3.head_object(Bucket=locked, Key="y")
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert close_to(head["ObjectLockRetainUntilDate"], datetime.now(UTC) + 365 * DAY)


def _lock_config(rule: dict[str, Any]) -> dict[str, Any]:
    return {"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": rule}}


def test_invalid_configurations(s3: Any, locked: str, request: pytest.FixtureRequest) -> None:
    both = _lock_config({"Mode": "GOVERNANCE", "Days": 1, "Years": 1})
    expect_error(
        "MalformedXML", 400, s3.put_object_lock_configuration, Bucket=locked,
        ObjectLockConfiguration=both,
    )  # fmt: skip
    # the gateway checks the periods itself: moto, which takes zero and negative ones,
    # never sees them
    for days in (0, -3):
        expect_error(
            "InvalidRetentionPeriod",
            400,
            s3.put_object_lock_configuration,
            Bucket=locked,
            ObjectLockConfiguration=_lock_config({"Mode": "GOVERNANCE", "Days": days}),
        )
    plain = unique("nolock")
    s3.create_bucket(Bucket=plain)
    s3.put_object(Bucket=plain, Key="k", Body=b"x")
    until = soon()
    expect_error(
        "InvalidRequest",
        400,
        s3.put_object_retention,
        Bucket=plain,
        Key="k",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until},
    )
    expect_error(
        "InvalidRequest",
        400,
        s3.put_object,
        Bucket=plain,
        Key="k2",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    expect_error("ObjectLockConfigurationNotFoundError", 404,
                 s3.get_object_lock_configuration, Bucket=plain)  # fmt: skip
    expect_error(
        "InvalidBucketState",
        409,
        s3.put_object_lock_configuration,
        Bucket=plain,
        ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"},
    )


def test_governance_delete_refused_then_bypassed(s3: Any, locked: str) -> None:
    """lock -> delete refused -> bypass governance -> allowed; a delete marker is always
    allowed."""
    put = s3.put_object(
        Bucket=locked,
        Key="g",
        Body=b"governed",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=soon(),
    )
    head = s3.head_object(Bucket=locked, Key="g")
    assert head["ObjectLockMode"] == "GOVERNANCE"
    assert close_to(head["ObjectLockRetainUntilDate"], soon())
    got = s3.get_object(Bucket=locked, Key="g")
    assert got["ObjectLockMode"] == "GOVERNANCE"
    got["Body"].read()
    version = put["VersionId"]
    expect_error("AccessDenied", 403, s3.delete_object, Bucket=locked, Key="g", VersionId=version)
    marker = s3.delete_object(Bucket=locked, Key="g")
    assert marker["DeleteMarker"] is True
    s3.delete_object(Bucket=locked, Key="g", VersionId=marker["VersionId"])
    done = s3.delete_object(
        Bucket=locked, Key="g", VersionId=version, BypassGovernanceRetention=True
    )
    assert done["VersionId"] == version
    expect_error("NoSuchKey", 404, s3.get_object, Bucket=locked, Key="g")


def test_compliance_is_never_shortened_or_removed(s3: Any, locked: str) -> None:
    until = soon()
    version = s3.put_object(
        Bucket=locked,
        Key="c",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    expect_error(
        "AccessDenied", 403, s3.delete_object, Bucket=locked, Key="c", VersionId=version,
        BypassGovernanceRetention=True,
    )  # fmt: skip
    for retention in (
        {"Mode": "COMPLIANCE", "RetainUntilDate": until - timedelta(hours=1)},
        {"Mode": "GOVERNANCE", "RetainUntilDate": until + DAY},
        {},
    ):
        expect_error(
            "AccessDenied", 403, s3.put_object_retention, Bucket=locked, Key="c",
            Retention=retention, BypassGovernanceRetention=True,
        )  # fmt: skip
    later = until + DAY
    s3.put_object_retention(
        Bucket=locked, Key="c", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": later}
    )
    retention = s3.get_object_retention(Bucket=locked, Key="c")["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    assert close_to(retention["RetainUntilDate"], later)


def test_a_retention_read_back_is_the_retention_it_has(
    s3: Any, locked: str, request: pytest.FixtureRequest
) -> None:
    """GetObjectRetention answers the date to the millisecond; sent back as read, it is
    the same date, not a shortening: a GOVERNANCE retention set with microseconds (as
    boto3 sends a ``datetime.now()``-based date) is repeated, then made COMPLIANCE, with
    no bypass. A date a millisecond earlier is still refused."""
    seaweedfs_deviates(request, "GOVERNANCE to COMPLIANCE keeping the date is AccessDenied")
    until = soon().replace(microsecond=472706)
    s3.put_object(Bucket=locked, Key="r", Body=b"x")
    s3.put_object_retention(
        Bucket=locked, Key="r", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}
    )
    read = s3.get_object_retention(Bucket=locked, Key="r")["Retention"]["RetainUntilDate"]
    assert read.microsecond in (472000, 0)  # SeaweedFS keeps whole seconds
    for mode in ("GOVERNANCE", "COMPLIANCE"):
        s3.put_object_retention(
            Bucket=locked, Key="r", Retention={"Mode": mode, "RetainUntilDate": read}
        )
        assert s3.get_object_retention(Bucket=locked, Key="r")["Retention"]["Mode"] == mode
    earlier = {"Mode": "COMPLIANCE", "RetainUntilDate": read - timedelta(milliseconds=1)}
    expect_error(
        "AccessDenied", 403, s3.put_object_retention, Bucket=locked, Key="r", Retention=earlier
    )


def test_a_default_retention_read_back_is_the_retention_it_has(
    s3: Any, locked: str, request: pytest.FixtureRequest
) -> None:
    """A default retention runs from the version's creation time, which has microseconds;
    its date is kept to the millisecond as a sent one is (``backends.locks``), so the date
    GetObjectRetention answers, sent back to make the retention COMPLIANCE, is the same
    date: no bypass needed. Before, the date kept the creation time's microseconds and
    only the comparison rounded them."""
    seaweedfs_deviates(request, "GOVERNANCE to COMPLIANCE keeping the date is AccessDenied")
    s3.put_object_lock_configuration(
        Bucket=locked, ObjectLockConfiguration=_lock_config({"Mode": "GOVERNANCE", "Days": 1})
    )
    s3.put_object(Bucket=locked, Key="d", Body=b"x")
    read = s3.get_object_retention(Bucket=locked, Key="d")["Retention"]["RetainUntilDate"]
    s3.put_object_retention(
        Bucket=locked, Key="d", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": read}
    )
    retention = s3.get_object_retention(Bucket=locked, Key="d")["Retention"]
    assert (retention["Mode"], retention["RetainUntilDate"]) == ("COMPLIANCE", read)


def test_governance_retention_changes(s3: Any, locked: str, request: pytest.FixtureRequest) -> None:
    seaweedfs_deviates(
        request, "changing a GOVERNANCE retention with the bypass header is InvalidRequest"
    )
    until = soon()
    s3.put_object(
        Bucket=locked,
        Key="g",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=until,
    )
    s3.put_object_retention(  # extending needs nothing
        Bucket=locked, Key="g", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until + DAY}
    )
    shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    expect_error(
        "AccessDenied", 403, s3.put_object_retention, Bucket=locked, Key="g", Retention=shorter
    )
    s3.put_object_retention(
        Bucket=locked, Key="g", Retention=shorter, BypassGovernanceRetention=True
    )
    assert close_to(
        s3.get_object_retention(Bucket=locked, Key="g")["Retention"]["RetainUntilDate"], until
    )
    s3.put_object_retention(Bucket=locked, Key="g", Retention={}, BypassGovernanceRetention=True)
    expect_error(
        "NoSuchObjectLockConfiguration", 404, s3.get_object_retention, Bucket=locked, Key="g"
    )
    expect_error(
        "InvalidArgument", 400, s3.put_object_retention, Bucket=locked, Key="g",
        Retention={"Mode": "GOVERNANCE", "RetainUntilDate": datetime.now(UTC) - DAY},
    )  # fmt: skip


def test_legal_hold_blocks_deletion_until_released(s3: Any, locked: str) -> None:
    version = s3.put_object(Bucket=locked, Key="h", Body=b"x", ObjectLockLegalHoldStatus="ON")[
        "VersionId"
    ]
    assert s3.head_object(Bucket=locked, Key="h")["ObjectLockLegalHoldStatus"] == "ON"
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"]["Status"] == "ON"
    expect_error(
        "AccessDenied", 403, s3.delete_object, Bucket=locked, Key="h", VersionId=version,
        BypassGovernanceRetention=True,
    )  # fmt: skip
    answer = s3.delete_objects(
        Bucket=locked, Delete={"Objects": [{"Key": "h", "VersionId": version}]}
    )
    assert [e["Code"] for e in answer["Errors"]] == ["AccessDenied"]
    s3.put_object_legal_hold(Bucket=locked, Key="h", LegalHold={"Status": "OFF"})
    assert s3.get_object_legal_hold(Bucket=locked, Key="h")["LegalHold"]["Status"] == "OFF"
    s3.delete_object(Bucket=locked, Key="h", VersionId=version)
    never = s3.put_object(Bucket=locked, Key="n", Body=b"x")
    expect_error(
        "NoSuchObjectLockConfiguration", 404, s3.get_object_legal_hold, Bucket=locked, Key="n"
    )
    expect_error(
        "NoSuchObjectLockConfiguration", 404, s3.get_object_retention, Bucket=locked, Key="n",
        VersionId=never["VersionId"],
    )  # fmt: skip


def test_retention_and_legal_hold_of_a_delete_marker(
    s3: Any, locked: str, request: pytest.FixtureRequest
) -> None:
    """A delete marker has no retention and no hold. Named by its version id, all four
    requests answer 405 MethodNotAllowed (as GET/HEAD of it do); by key, with the marker
    as the latest version, the reads answer 404 NoSuchKey (as GetObject does) and the
    writes 405 (as PutObjectTagging does): there is no current version to change. Each
    answer says it met a marker (``x-amz-delete-marker``), and the version under the
    marker stays as it was."""
    seaweedfs_deviates(request, "a delete marker's 404 carries no x-amz-delete-marker header")
    under = s3.put_object(Bucket=locked, Key="dm", Body=b"x")["VersionId"]
    marker = s3.delete_object(Bucket=locked, Key="dm")["VersionId"]
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": soon()}
    reads = [s3.get_object_retention, s3.get_object_legal_hold]
    writes: list[tuple[Any, dict[str, Any]]] = [
        (s3.put_object_retention, {"Retention": retention}),
        (s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
    ]
    answers = [
        *[("NoSuchKey", 404, call, {}) for call in reads],
        *[("MethodNotAllowed", 405, call, kwargs) for call, kwargs in writes],
        *[("MethodNotAllowed", 405, call, {"VersionId": marker}) for call in reads],
        *[("MethodNotAllowed", 405, call, {"VersionId": marker, **kw}) for call, kw in writes],
    ]
    for code, status, call, kwargs in answers:
        exc = expect_error(code, status, call, Bucket=locked, Key="dm", **kwargs)
        headers = exc.response["ResponseMetadata"]["HTTPHeaders"]
        assert headers.get("x-amz-delete-marker") == "true", (call, kwargs, headers)
        assert headers.get("x-amz-version-id") == marker, (call, kwargs, headers)
    head = s3.head_object(Bucket=locked, Key="dm", VersionId=under)
    assert "ObjectLockMode" not in head and "ObjectLockLegalHoldStatus" not in head


def test_multipart_and_copy_take_lock_headers(
    s3: Any, locked: str, request: pytest.FixtureRequest
) -> None:
    seaweedfs_deviates(request, "a copy takes the source's Object Lock settings")
    until = soon()
    upload = s3.create_multipart_upload(
        Bucket=locked, Key="mp", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until
    )
    part = s3.upload_part(
        Bucket=locked, Key="mp", UploadId=upload["UploadId"], PartNumber=1, Body=b"part"
    )
    s3.complete_multipart_upload(
        Bucket=locked,
        Key="mp",
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    if not upstream(request):  # moto drops the lock settings of CreateMultipartUpload
        assert s3.head_object(Bucket=locked, Key="mp")["ObjectLockMode"] == "GOVERNANCE"
    # a copy gets the lock its request names, never the source's
    s3.copy_object(Bucket=locked, Key="plain-copy", CopySource={"Bucket": locked, "Key": "mp"})
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="plain-copy")
    if upstream(request):
        return  # moto refuses lock headers on CopyObject without a body checksum
    s3.copy_object(
        Bucket=locked,
        Key="held-copy",
        CopySource={"Bucket": locked, "Key": "mp"},
        ObjectLockLegalHoldStatus="ON",
    )
    assert s3.head_object(Bucket=locked, Key="held-copy")["ObjectLockLegalHoldStatus"] == "ON"
    s3.put_object_legal_hold(Bucket=locked, Key="held-copy", LegalHold={"Status": "OFF"})


def _put_raw(gw: Gateway, path: str, headers: dict[str, str]) -> Any:
    signed = sign(
        gw,
        "PUT",
        path,
        body=b"data",
        headers={**headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
    )
    return raw_request(gw, "PUT", path, body=b"data", headers=signed)


MODE, UNTIL, HOLD = (
    "x-amz-object-lock-mode",
    "x-amz-object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold",
)


def test_lock_headers_are_checked(any_gateway: Gateway, s3: Any, locked: str) -> None:
    until = soon().strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/{locked}/raw"
    md5 = {"Content-MD5": "jXd/OF09/siBXSD3SWAm3A=="}  # md5(b"data")
    cases = [
        # AWS's codes, as its answers are recorded (versitygw #1734, #2028)
        ({MODE: "GOVERNANCE", **md5}, "InvalidArgument"),
        ({UNTIL: until, **md5}, "InvalidArgument"),
        ({MODE: "FOREVER", UNTIL: until, **md5}, "InvalidArgument"),
        ({MODE: "GOVERNANCE", UNTIL: "2000-01-01T00:00:00Z", **md5}, "InvalidArgument"),
        ({MODE: "GOVERNANCE", UNTIL: "next tuesday", **md5}, "InvalidArgument"),
        ({HOLD: "MAYBE", **md5}, "InvalidArgument"),
        # a write with Object Lock settings needs Content-MD5 or an x-amz-checksum-* value
        ({MODE: "GOVERNANCE", UNTIL: until}, "InvalidRequest"),
        ({HOLD: "ON"}, "InvalidRequest"),
    ]
    for headers, code in cases:
        response = _put_raw(any_gateway, path, headers)
        assert (response.status, response.error_code()) == (400, code), (headers, response.body)
    past = _put_raw(any_gateway, path, {MODE: "GOVERNANCE", UNTIL: "2000-01-01T00:00:00Z", **md5})
    assert past.xml().findtext("ArgumentName") == UNTIL
    assert past.xml().findtext("ArgumentValue") == "2000-01-01T00:00:00Z"  # as sent
    ok = _put_raw(any_gateway, path, {MODE: "GOVERNANCE", UNTIL: until, **md5})
    assert ok.status == 200, ok.body
    assert s3.head_object(Bucket=locked, Key="raw")["ObjectLockMode"] == "GOVERNANCE"


PAST = [
    "2000-01-01T00:00:00Z",
    "2000-01-01T05:30:00+05:30",  # the same instant, written in another zone
    "2000-01-01T00:00:00.123456789Z",  # nine fraction digits, kept to the millisecond
]


@pytest.mark.parametrize("sent", PAST)
def test_a_past_retain_until_date_is_refused_with_what_was_sent(
    any_gateway: Gateway, s3: Any, locked: str, sent: str
) -> None:
    """A retain-until date in the past: 400 ``InvalidArgument`` "The retain until date
    must be in the future!" naming the header (PutObject, CreateMultipartUpload,
    CopyObject) or ``RetainUntilDate`` (PutObjectRetention's body), with the date as the
    client wrote it as ``ArgumentValue``, as AWS answers (docs/architecture.md). Before:
    the header's answer echoed the gateway's own reading of the date (in UTC, three
    fraction digits) and the body's was ``InvalidRequest`` without either."""
    md5 = {"Content-MD5": "jXd/OF09/siBXSD3SWAm3A=="}  # md5(b"data")
    lock = {MODE: "GOVERNANCE", UNTIL: sent}
    s3.put_object(Bucket=locked, Key="kept", Body=b"data")
    refused = [
        _put_raw(any_gateway, f"/{locked}/new", {**lock, **md5}),
        _put_raw(any_gateway, f"/{locked}/copy", {**lock, "x-amz-copy-source": f"/{locked}/kept"}),
        raw_request(
            any_gateway,
            "POST",
            f"/{locked}/new?uploads",
            headers=sign(any_gateway, "POST", f"/{locked}/new?uploads", headers=lock),
        ),
    ]
    for response in refused:
        assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
        error = response.xml()
        assert error.findtext("Message") == "The retain until date must be in the future!"
        assert (error.findtext("ArgumentName"), error.findtext("ArgumentValue")) == (UNTIL, sent)
    body = (
        f"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>{sent}</RetainUntilDate></Retention>"
    ).encode()
    path = f"/{locked}/kept?retention"
    headers = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}
    response = raw_request(
        any_gateway,
        "PUT",
        path,
        body=body,
        headers=sign(any_gateway, "PUT", path, body=body, headers=headers),
    )
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
    error = response.xml()
    assert error.findtext("Message") == "The retain until date must be in the future!"
    assert (error.findtext("ArgumentName"), error.findtext("ArgumentValue")) == (
        "RetainUntilDate",
        sent,
    )
    assert [v["Key"] for v in s3.list_object_versions(Bucket=locked)["Versions"]] == ["kept"]
    assert s3.list_multipart_uploads(Bucket=locked).get("Uploads", []) == []
    assert "ObjectLockMode" not in s3.head_object(Bucket=locked, Key="kept")


def test_a_malformed_retain_until_date_is_echoed_escaped_and_bounded(
    any_gateway: Gateway, locked: str
) -> None:
    """What a client sent comes back as ``ArgumentValue`` escaped (the error document
    stays XML) and at most ``ECHO_LIMIT`` (1,024) characters long."""
    md5 = {"Content-MD5": "jXd/OF09/siBXSD3SWAm3A=="}  # md5(b"data")
    for sent, echoed in (
        ("<2030-01-01&T00:00:00Z>", "<2030-01-01&T00:00:00Z>"),
        ("9" * 4000, "9" * 1024),
    ):
        response = _put_raw(any_gateway, f"/{locked}/new", {MODE: "GOVERNANCE", UNTIL: sent, **md5})
        assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
        assert response.xml().findtext("ArgumentValue") == echoed


# -- who may do what -----------------------------------------------------------------------


def _client(gw: Gateway, scopes: list[str]) -> Any:
    key = make_key(gw, scopes=scopes)
    return gw.client(key["id"], key["secret"])


def test_governance_bypass_needs_its_scope(any_gateway: Gateway, s3: Any, locked: str) -> None:
    version = s3.put_object(
        Bucket=locked,
        Key="g",
        Body=b"x",
        ObjectLockMode="GOVERNANCE",
        ObjectLockRetainUntilDate=soon(),
    )["VersionId"]
    writer = _client(any_gateway, ["read:objects", "write:objects", "delete:objects"])
    expect_error(
        "AccessDenied", 403, writer.delete_object, Bucket=locked, Key="g", VersionId=version,
        BypassGovernanceRetention=True,
    )  # fmt: skip
    expect_error(
        "AccessDenied", 403, writer.put_object_retention, Bucket=locked, Key="g",
        Retention={}, BypassGovernanceRetention=True,
    )  # fmt: skip
    bypasser = _client(any_gateway, ["delete:objects", "bypass:governance"])
    bypasser.delete_object(
        Bucket=locked, Key="g", VersionId=version, BypassGovernanceRetention=True
    )
    assert "Versions" not in s3.list_object_versions(Bucket=locked)


def test_delete_objects_decides_the_bypass_for_each_key(
    any_gateway: Gateway, s3: Any, locked: str
) -> None:
    """DeleteObjects of GOVERNANCE versions: without the bypass header none goes; with it
    but without ``s3:BypassGovernanceRetention`` (a key lacking ``bypass:governance``)
    none goes; with it, a policy denying the bypass under one prefix keeps those versions
    and no others, in whatever order the keys come (S3 decides each key; one refused key
    used to take the bypass from every key of the request). COMPLIANCE never goes."""
    until = soon()
    versions = {
        key: s3.put_object(
            Bucket=locked, Key=key, Body=b"x", ObjectLockMode=mode, ObjectLockRetainUntilDate=until
        )["VersionId"]
        for key, mode in (
            ("kept/1", "GOVERNANCE"),
            ("free/1", "GOVERNANCE"),
            ("free/2", "GOVERNANCE"),
            ("comp/1", "COMPLIANCE"),
        )
    }
    objects = [{"Key": key, "VersionId": vid} for key, vid in versions.items()]

    def outcome(answer: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
        deleted = sorted(d["Key"] for d in answer.get("Deleted", []))
        return deleted, {e["Key"]: e["Code"] for e in answer.get("Errors", [])}

    refused_all = {key: "AccessDenied" for key in versions}
    plain = s3.delete_objects(Bucket=locked, Delete={"Objects": objects})
    assert outcome(plain) == ([], refused_all)
    writer = _client(any_gateway, ["read:objects", "write:objects", "delete:objects"])
    unscoped = writer.delete_objects(
        Bucket=locked, Delete={"Objects": objects}, BypassGovernanceRetention=True
    )
    assert outcome(unscoped) == ([], refused_all)
    s3.put_bucket_policy(
        Bucket=locked,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:BypassGovernanceRetention",
                        "Resource": f"arn:aws:s3:::{locked}/kept/*",
                    }
                ],
            }
        ),
    )
    first = s3.delete_objects(
        Bucket=locked, Delete={"Objects": objects[:2]}, BypassGovernanceRetention=True
    )
    assert outcome(first) == (["free/1"], {"kept/1": "AccessDenied"})
    rest = s3.delete_objects(
        Bucket=locked, Delete={"Objects": objects[::-1]}, BypassGovernanceRetention=True
    )
    # free/1 is gone already: deleting a version that is not there succeeds, as in S3
    assert outcome(rest) == (
        ["free/1", "free/2"],
        {"comp/1": "AccessDenied", "kept/1": "AccessDenied"},
    )
    left = s3.list_object_versions(Bucket=locked)["Versions"]
    assert sorted(v["Key"] for v in left) == ["comp/1", "kept/1"]


def test_version_scopes(any_gateway: Gateway, s3: Any) -> None:
    """Reading a version needs read:objects, deleting one delete:objects, changing the
    versioning state write:buckets."""
    bucket = unique("vscope")
    s3.create_bucket(Bucket=bucket)
    buckets_reader = _client(any_gateway, ["read:buckets"])
    expect_error(
        "AccessDenied", 403, buckets_reader.put_bucket_versioning, Bucket=bucket,
        VersioningConfiguration={"Status": "Enabled"},
    )  # fmt: skip
    assert "Status" not in buckets_reader.get_bucket_versioning(Bucket=bucket)
    _client(any_gateway, ["write:buckets"]).put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}
    )
    version = s3.put_object(Bucket=bucket, Key="k", Body=b"v1")["VersionId"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"v2")
    reader = _client(any_gateway, ["read:objects"])
    assert reader.get_object(Bucket=bucket, Key="k", VersionId=version)["Body"].read() == b"v1"
    assert len(reader.list_object_versions(Bucket=bucket)["Versions"]) == 2
    expect_error(
        "AccessDenied", 403, reader.delete_object, Bucket=bucket, Key="k", VersionId=version
    )
    deleter = _client(any_gateway, ["delete:objects"])
    expect_error("AccessDenied", 403, deleter.get_object, Bucket=bucket, Key="k", VersionId=version)
    deleter.delete_object(Bucket=bucket, Key="k", VersionId=version)
    with pytest.raises(ClientError):
        s3.get_object(Bucket=bucket, Key="k", VersionId=version)


def test_a_part_of_an_upload_with_lock_settings_needs_a_digest(gateway: Gateway) -> None:
    """S3's UploadPart: Content-MD5 "is required if object lock parameters are specified"
    (400 InvalidRequest, as for a PutObject with them). A part without one was taken, and
    the completed object locked though no digest of it was ever sent. The filesystem
    backend decides it (an upstream store decides its own parts: docs/upstream-backend.md)."""
    s3 = gateway.client()
    locked = unique("lockmp")
    s3.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    upload = s3.create_multipart_upload(
        Bucket=locked, Key="mp", ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=soon()
    )
    path = f"/{locked}/mp?partNumber=1&uploadId={upload['UploadId']}"
    bare = _put_raw(gateway, path, {})
    assert (bare.status, bare.error_code()) == (400, "InvalidRequest"), bare.body
    assert (
        s3.list_parts(Bucket=locked, Key="mp", UploadId=upload["UploadId"]).get("Parts", []) == []
    )
    md5 = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    with_md5 = _put_raw(gateway, path, {"Content-MD5": md5})
    assert with_md5.status == 200, with_md5.body
    # an SDK's default checksum is a digest too; and an upload without lock settings
    # takes a bare part, as before
    s3.upload_part(Bucket=locked, Key="mp", UploadId=upload["UploadId"], PartNumber=2, Body=b"x")
    plain = s3.create_multipart_upload(Bucket=locked, Key="plain")
    bare = _put_raw(gateway, f"/{locked}/plain?partNumber=1&uploadId={plain['UploadId']}", {})
    assert bare.status == 200, bare.body
