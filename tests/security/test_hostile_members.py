"""Class: nothing a client sends gets a 5xx, whatever the operation and the member.

Every operation the gateway implements is sent, through boto3 with its parameter
validation off, with each of its members in turn set to hostile values for its type
(empty, huge, non-numeric numbers, dates that are not dates, ...): headers, query
parameters and, one leaf at a time, the elements of XML bodies. Each answer must be a
4xx or 501 ``NotImplemented``, never another 5xx, and the gateway must log no traceback.
The members and the operations come from botocore's model, so a member a botocore
upgrade adds is sent too. Here on the filesystem backend; tests/e2e/test_hostile_seaweedfs.py
sends the same through the s3 backend to SeaweedFS.
"""

from __future__ import annotations

import pytest

from tests.e2e.gateway_process import Gateway
from tests.security.hostile import OPERATION_NAMES, send_hostile_values


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_hostile_member_values_get_no_5xx(gateway: Gateway, name: str) -> None:
    send_hostile_values(gateway, name)
