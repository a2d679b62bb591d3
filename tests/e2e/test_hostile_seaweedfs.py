"""The hostile-values class test (tests/security/test_hostile_members.py) through the s3
backend, in front of SeaweedFS: what the store refuses must reach the client as a 4xx,
never as a 5xx of ours (an empty DeleteObjects key once became a 503 here). Not in front
of moto, which answers 500 to some of these (an unknown upload id, a tag key of one
space: docs/upstream-backend.md)."""

from __future__ import annotations

import pytest

from tests.e2e.gateway_process import Gateway
from tests.security.hostile import OPERATION_NAMES, send_hostile_values


@pytest.mark.parametrize("name", OPERATION_NAMES)
def test_hostile_member_values_get_no_5xx_through_seaweedfs(
    seaweedfs_gateway: Gateway, name: str
) -> None:
    send_hostile_values(seaweedfs_gateway, name)
