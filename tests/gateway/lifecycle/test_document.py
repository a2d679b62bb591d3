"""The lifecycle document: what is accepted, written back, and refused with which code
(AWS's answers as recorded in docs/lifecycle.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.lifecycle.document import lifecycle_document, parse_lifecycle
from gateway.lifecycle.rules import LifecycleFilter
from gateway.s3.errors import S3Error

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def doc(*rules: str) -> bytes:
    return f"<LifecycleConfiguration {NS}>{''.join(rules)}</LifecycleConfiguration>".encode()


def rule(body: str, *, rule_id: str = "r", status: str = "Enabled") -> str:
    id_part = f"<ID>{rule_id}</ID>" if rule_id else ""
    return f"<Rule>{id_part}<Status>{status}</Status>{body}</Rule>"


EXPIRE = "<Expiration><Days>1</Days></Expiration>"


def error_of(body: bytes) -> tuple[str, str]:
    with pytest.raises(S3Error) as info:
        parse_lifecycle(body)
    return info.value.code, info.value.message


def test_every_action_and_filter_round_trips() -> None:
    body = doc(
        rule("<Filter><Prefix>logs/</Prefix></Filter>" + EXPIRE, rule_id="days"),
        rule(
            "<Filter/><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>",
            rule_id="date",
        ),
        rule(
            "<Filter><Prefix></Prefix></Filter>"
            "<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
            "</Expiration>",
            rule_id="markers",
        ),
        rule(
            "<Filter><And><Prefix>a/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
            "<ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
            "<ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>"
            "<NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays>"
            "<NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration>",
            rule_id="and",
            status="Disabled",
        ),
        rule(
            "<Filter><Prefix>up/</Prefix></Filter><AbortIncompleteMultipartUpload>"
            "<DaysAfterInitiation>7</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
            rule_id="abort",
        ),
        rule("<Filter><Tag><Key>t</Key><Value></Value></Tag></Filter>" + EXPIRE, rule_id="tag"),
        rule(
            "<Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>" + EXPIRE,
            rule_id="small",
        ),
    )
    config = parse_lifecycle(body)
    days, date, markers, both, abort, tag, small = config.rules
    assert (days.expiration_days, days.filter) == (1, LifecycleFilter(prefix="logs/"))
    assert date.expiration_date == datetime(2030, 1, 1, tzinfo=UTC)
    assert markers.expired_delete_marker is True
    assert both.enabled is False
    assert both.filter == LifecycleFilter("a/", (("k", "v"),), 10, 100)
    assert (both.noncurrent_days, both.newer_noncurrent) == (3, 2)
    assert abort.abort_days == 7
    assert tag.filter.tags == (("t", ""),)
    assert small.filter.less_than == 5
    written = lifecycle_document(config)
    assert parse_lifecycle(written) == config
    assert written.count(b"<Filter>") == 7 and b"<Filter></Filter>" in written


def test_rule_level_prefix_stays_one_and_ids_are_made() -> None:
    config = parse_lifecycle(doc(rule("<Prefix>old/</Prefix>" + EXPIRE, rule_id="")))
    [only] = config.rules
    assert only.form == "legacy" and only.filter.prefix == "old/"
    assert len(only.id) == 48  # base64 of a UUID's text, as S3 makes them
    written = lifecycle_document(config)
    assert b"<Filter>" not in written and b"<Prefix>old/</Prefix>" in written
    assert parse_lifecycle(written) == config


def test_an_and_is_written_back_as_sent() -> None:
    """Tags in the order sent; a ``Prefix`` only when one was sent (even an empty one)."""
    tags = "<Tag><Key>z</Key><Value>1</Value></Tag><Tag><Key>a</Key><Value></Value></Tag>"
    body = doc(
        rule(f"<Filter><And><Prefix>p/</Prefix>{tags}</And></Filter>{EXPIRE}", rule_id="a"),
        rule(f"<Filter><And>{tags}</And></Filter>{EXPIRE}", rule_id="b"),
        rule(f"<Filter><And><Prefix></Prefix>{tags}</And></Filter>{EXPIRE}", rule_id="c"),
        rule(
            f"<Filter><And>{tags}<ObjectSizeLessThan>9</ObjectSizeLessThan></And></Filter>"
            + EXPIRE,
            rule_id="d",
        ),
    )
    config = parse_lifecycle(body)
    assert config.rules[1].filter == LifecycleFilter("", (("z", "1"), ("a", "")))
    written = lifecycle_document(config)
    sent = [r.split(b"<Filter>")[1].split(b"</Filter>")[0] for r in body.split(b"<Rule>")[1:]]
    got = [r.split(b"<Filter>")[1].split(b"</Filter>")[0] for r in written.split(b"<Rule>")[1:]]
    assert got == sent
    assert parse_lifecycle(written) == config


BAD: list[tuple[str, bytes, str, str]] = [
    ("no rules", doc(), "InvalidRequest", "At least one lifecycle rule must be specified."),
    ("wrong root", b"<LifeCycleConfiguration/>", "MalformedXML", ""),
    ("status case", doc(rule("<Filter/>" + EXPIRE, status="enabled")), "MalformedXML", ""),
    ("no filter", doc(rule(EXPIRE)), "MalformedXML", ""),
    ("filter and prefix", doc(rule("<Filter/><Prefix/>" + EXPIRE)), "MalformedXML", ""),
    (
        "two predicates",
        doc(rule("<Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>"
                 + EXPIRE)),
        "MalformedXML",
        "",
    ),
    ("and of one", doc(rule("<Filter><And><Prefix>a</Prefix></And></Filter>" + EXPIRE)),
     "MalformedXML", ""),
    (
        "and with duplicate tags",
        doc(rule("<Filter><And><Tag><Key>a</Key><Value>1</Value></Tag><Tag><Key>a</Key>"
                 "<Value>2</Value></Tag></And></Filter>" + EXPIRE)),
        "InvalidRequest",
        "Duplicate Tag Keys are not allowed.",
    ),
    ("tag without value", doc(rule("<Filter><Tag><Key>k</Key></Tag></Filter>" + EXPIRE)),
     "MalformedXML", ""),
    (
        "tag without value in an and",
        doc(rule("<Filter><And><Prefix>p</Prefix><Tag><Key>k</Key></Tag></And></Filter>"
                 + EXPIRE)),
        "MalformedXML",
        "",
    ),
    (
        "tag with two values",
        doc(rule("<Filter><Tag><Key>k</Key><Value>1</Value><Value>2</Value></Tag></Filter>"
                 + EXPIRE)),
        "MalformedXML",
        "",
    ),
    ("no action", doc(rule("<Filter/>")), "InvalidRequest",
     "At least one action needs to be specified in a rule"),
    ("days 0", doc(rule("<Filter/><Expiration><Days>0</Days></Expiration>")), "InvalidArgument",
     "'Days' for Expiration action must be a positive integer"),
    ("days text", doc(rule("<Filter/><Expiration><Days>one</Days></Expiration>")),
     "MalformedXML", ""),
    (
        "date not midnight",
        doc(rule("<Filter/><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")),
        "InvalidArgument",
        "'Date' must be at midnight GMT",
    ),
    (
        "marker with days",
        doc(rule("<Filter/><Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                 "</ExpiredObjectDeleteMarker></Expiration>")),
        "MalformedXML",
        "",
    ),
    ("empty expiration", doc(rule("<Filter/><Expiration/>")), "MalformedXML", ""),
    (
        "marker with size",
        doc(rule("<Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Expiration>"
                 "<ExpiredObjectDeleteMarker>false</ExpiredObjectDeleteMarker></Expiration>")),
        "InvalidRequest",
        "ExpiredObjectDeleteMarker cannot be specified with Object Size.",
    ),
    (
        "abort with tags",
        doc(rule("<Filter><Tag><Key>a</Key><Value>1</Value></Tag></Filter>"
                 "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>"
                 "</AbortIncompleteMultipartUpload>")),
        "InvalidRequest",
        "AbortIncompleteMultipartUpload cannot be specified with Tags.",
    ),
    (
        "noncurrent days 0",
        doc(rule("<Filter/><NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
                 "</NoncurrentVersionExpiration>")),
        "InvalidArgument",
        "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
    ),
    (
        "newer without days",
        doc(rule("<Filter/><NoncurrentVersionExpiration><NewerNoncurrentVersions>1"
                 "</NewerNoncurrentVersions></NoncurrentVersionExpiration>")),
        "MalformedXML",
        "",
    ),
    (
        "newer in v1",
        doc(rule("<Prefix/><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays>"
                 "<NewerNoncurrentVersions>1</NewerNoncurrentVersions>"
                 "</NoncurrentVersionExpiration>")),
        "InvalidRequest",
        "NewerNoncurrentVersions element can only be used in Lifecycle V2.",
    ),
    (
        "mixed v1 then v2",
        doc(rule("<Prefix>a</Prefix>" + EXPIRE, rule_id="a"),
            rule("<Filter/>" + EXPIRE, rule_id="b")),
        "InvalidRequest",
        "Filter element can only be used in Lifecycle V2.",
    ),
    (
        "mixed v2 then v1",
        doc(rule("<Filter/>" + EXPIRE, rule_id="a"),
            rule("<Prefix>a</Prefix>" + EXPIRE, rule_id="b")),
        "InvalidRequest",
        "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the "
        "Filter.",
    ),
    ("same id", doc(rule("<Filter/>" + EXPIRE), rule("<Filter/>" + EXPIRE)), "InvalidArgument",
     "Rule ID must be unique. Found same ID for more than one rule"),
    ("long id", doc(rule("<Filter/>" + EXPIRE, rule_id="i" * 256)), "InvalidArgument",
     "ID length should not exceed allowed limit of 255"),
    (
        "size range",
        doc(rule("<Filter><And><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
                 "<ObjectSizeLessThan>10</ObjectSizeLessThan></And></Filter>" + EXPIRE)),
        "InvalidRequest",
        "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'.",
    ),
    (
        "size zero",
        doc(rule("<Filter><ObjectSizeLessThan>0</ObjectSizeLessThan></Filter>" + EXPIRE)),
        "InvalidRequest",
        "'ObjectSizeLessThan' should be between 1 and 1099511627776000.",
    ),
    (
        "transition",
        doc(rule("<Filter/><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass>"
                 "</Transition>")),
        "NotImplemented",
        "Transitions to other storage classes are not supported",
    ),
    ("unknown element", doc(rule("<Filter/>" + EXPIRE + "<Bogus/>")), "MalformedXML", ""),
]  # fmt: skip


@pytest.mark.parametrize(("body", "code", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_refused_documents(body: bytes, code: str, message: str) -> None:
    got_code, got_message = error_of(body)
    assert got_code == code
    if message:
        assert got_message == message


def test_a_thousand_rules_and_no_more() -> None:
    rules = [rule("<Filter/>" + EXPIRE, rule_id=f"r{i}") for i in range(1000)]
    assert len(parse_lifecycle(doc(*rules)).rules) == 1000
    code, message = error_of(doc(*rules, rule("<Filter/>" + EXPIRE, rule_id="one-more")))
    assert code == "InvalidRequest"
    assert "1000" in message
