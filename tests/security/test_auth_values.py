"""Class: the values SigV4 authentication and aws-chunked framing read from a request
(dates, lifetimes, lengths) get a 4xx, never a 5xx.

tests/security/test_hostile_members.py sends hostile values for every member of
botocore's S3 model; these are not members, they are read before any operation runs.
Before: a ``Date`` header whose offset puts it past the year 9999 in UTC, a presigned URL
dated in the last week of the year 9999, an ``X-Amz-Expires`` of ``--5`` or of 5,000
digits and an ``x-amz-decoded-content-length`` of 5,000 digits each answered 500
InternalError (an OverflowError or a ValueError from int()). Now each is S3's answer to
a malformed or out-of-range value. Real gateway, raw HTTP.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.gateway_process import Gateway
from tests.e2e.s3util import raw_request, sign
from tests.security.rawhttp import send, signed_unsigned_trailer_headers

HUGE = "9" * 5000


def _presigned_target(s3: Any, bucket: str, changes: dict[str, str]) -> str:
    """A SigV4 presigned GET's path and query, with ``changes`` made to its parameters."""
    url: str = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "k"}, ExpiresIn=3600
    )
    target = url[url.index(f"/{bucket}/") :]
    for name, value in changes.items():
        target = re.sub(rf"{name}=[^&]*", f"{name}={value}", target)
    return target


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        pytest.param(
            {
                "X-Amz-Date": "99991231T235959Z",
                "X-Amz-Credential": "{key}%2F99991231%2Fus-east-1%2Fs3%2Faws4_request",
            },
            403,
            "AccessDenied",
            id="dated-in-the-last-week-of-9999",
        ),
        pytest.param({"X-Amz-Expires": "--5"}, 400, "AuthorizationQueryParametersError", id="--5"),
        pytest.param({"X-Amz-Expires": HUGE}, 400, "AuthorizationQueryParametersError", id="huge"),
    ],
)
def test_presigned_query_values(
    gateway: Gateway, s3: Any, bucket: str, changes: dict[str, str], status: int, code: str
) -> None:
    values = {name: value.format(key=gateway.access_key) for name, value in changes.items()}
    response = raw_request(gateway, "GET", _presigned_target(s3, bucket, values))
    assert (response.status, response.error_code()) == (status, code), response.body


def test_a_date_header_past_the_year_9999_in_utc(gateway: Gateway, bucket: str) -> None:
    headers = sign(gateway, "GET", f"/{bucket}/k")
    del headers["X-Amz-Date"]
    headers["Date"] = "Fri, 31 Dec 9999 23:59:59 -1200"
    response = raw_request(gateway, "GET", f"/{bucket}/k", headers=headers)
    assert (response.status, response.error_code()) == (403, "AccessDenied"), response.body


def test_a_decoded_content_length_of_5000_digits(gateway: Gateway, bucket: str) -> None:
    path = f"/{bucket}/huge"
    headers = signed_unsigned_trailer_headers(gateway, path, HUGE)
    body = b"5\r\nhello\r\n0\r\n\r\n"
    response = send(gateway, "PUT", path, headers, [body], length=len(body))
    assert (response.status, response.error_code()) == (400, "InvalidArgument"), response.body
