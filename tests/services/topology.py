"""Several gateway hosts over one PostgreSQL and one SeaweedFS (issue 16's topology).

Each host is a real ``nfyio-gateway serve`` process with a data directory and ports of
its own, as two machines would have; what they share is exactly what ``docs/deploy.md``
says every host of one deployment must share: the state store URL
(``NFYIO_IDENTITY_URL=postgresql://...``), the master key (``NFYIO_MASTER_KEY``), the
upstream store and its credentials (``NFYIO_BACKEND=s3`` over SeaweedFS), the OAuth
issuer (the load balancer's URL, not a host's), and the root key. The hosts trust
``X-Forwarded-*`` headers, as they would behind a load balancer.

Used by ``tests/e2e/test_multihost*.py`` and by ``make bench``'s scaling section
(``tests/perf/scale.py``). PostgreSQL and SeaweedFS come from this package's fixtures
(``postgres_server``, ``seaweedfs``); each topology gets a fresh schema and a bucket
prefix of its own, so several can share one PostgreSQL and one SeaweedFS.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.gateway_process import Gateway, start_gateway
from tests.services.seaweedfs import SeaweedFS

__all__ = ["ISSUER", "Topology", "shared_env"]

ISSUER = "https://gateway.example.test"
"""The ``iss`` of every host's tokens: the address clients reach through the balancer."""


def shared_env(state_url: str, seaweedfs: SeaweedFS, *, bucket_prefix: str) -> dict[str, str]:
    """The settings every host of one deployment has in common (a fresh master key)."""
    return {
        "NFYIO_IDENTITY_URL": state_url,
        "NFYIO_MASTER_KEY": base64.b64encode(os.urandom(32)).decode(),
        "NFYIO_BACKEND": "s3",
        "NFYIO_UPSTREAM_ENDPOINT": seaweedfs.endpoint_url,
        "NFYIO_UPSTREAM_ACCESS_KEY_ID": seaweedfs.access_key,
        "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": seaweedfs.secret_key,
        "NFYIO_UPSTREAM_REGION": seaweedfs.region,
        "NFYIO_UPSTREAM_BUCKET_PREFIX": bucket_prefix,
        "NFYIO_ISSUER": ISSUER,
        "NFYIO_SERVER_TRUSTED_FORWARDED_HEADERS": "true",
    }


@dataclass
class Topology:
    """Gateway hosts started under ``base`` (``host-0``, ``host-1``, ...), all with
    ``env``; ``hosts`` holds the running ones, in start order."""

    base: Path
    env: dict[str, str]
    extra_args: list[str] = field(default_factory=list)
    hosts: list[Gateway] = field(default_factory=list)

    @classmethod
    def start(
        cls,
        base: Path,
        state_url: str,
        seaweedfs: SeaweedFS,
        *,
        count: int = 2,
        extra_env: dict[str, str] | None = None,
        extra_args: list[str] | None = None,
    ) -> Topology:
        prefix = f"mh{uuid.uuid4().hex[:6]}-"
        env = {**shared_env(state_url, seaweedfs, bucket_prefix=prefix), **(extra_env or {})}
        topology = cls(base=base, env=env, extra_args=list(extra_args or []))
        try:
            for index in range(count):
                topology.start_host(index)
        except BaseException:
            topology.stop()
            raise
        return topology

    def data_dir(self, index: int) -> Path:
        return self.base / f"host-{index}" / "data"

    def start_host(self, index: int) -> Gateway:
        """Start host ``index`` (again, after a crash: same data directory, new ports)."""
        host = start_gateway(self.data_dir(index), extra_env=self.env, extra_args=self.extra_args)
        if index < len(self.hosts):
            self.hosts[index] = host
        else:
            self.hosts.append(host)
        return host

    def stop(self) -> None:
        for host in reversed(self.hosts):
            host.stop()
