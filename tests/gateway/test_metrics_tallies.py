"""Requests are tallied in the process and flushed into prometheus_client's values
(``gateway/metrics.py``): what a scrape reads after a flush is what one update per
request would have written."""

from __future__ import annotations

import random
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Histogram

from gateway.metrics import DURATION_BUCKETS, Metrics, add_observations


def _samples(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_a_batch_of_observations_reads_as_one_observe_each() -> None:
    rng = random.Random(5)
    durations = [rng.choice([0.0, 0.0005, 0.001, 60.0, 75.0]) or rng.random() for _ in range(500)]
    one_by_one, batched = CollectorRegistry(), CollectorRegistry()
    single = Histogram("d", "d", buckets=DURATION_BUCKETS, registry=one_by_one)
    batch = Histogram("d", "d", buckets=DURATION_BUCKETS, registry=batched)
    for seconds in durations:
        single.observe(seconds)
    metrics = Metrics(version="t", backend="filesystem", workers=1)
    for seconds in durations:
        metrics.observe_s3("GetObject", 200, seconds, 0, 0)
    (tally,) = metrics._s3.values()
    add_observations(batch, tally.seconds, tally.buckets)
    assert _samples(batched) == _samples(one_by_one)


def test_tallies_reach_the_scrape_at_the_flush() -> None:
    metrics = Metrics(version="t", backend="filesystem", workers=1)
    for n in range(7):
        metrics.observe_s3("PutObject", 200, 0.002, 100 + n, 0)
    metrics.observe_s3("GetObject", 404, 0.001, 0, 250)
    metrics.observe_api("/v1/buckets", 200)
    metrics.observe_api("/v1/buckets", 200)
    before = _samples(metrics.scrape_registry)
    assert (
        "nfyio_s3_requests_total",
        (("operation", "PutObject"), ("status", "200")),
    ) not in before
    text = metrics.render().decode()  # a scrape flushes this process first
    found = _samples(metrics.scrape_registry)
    assert found[("nfyio_s3_requests_total", (("operation", "PutObject"), ("status", "200")))] == 7
    assert found[("nfyio_s3_request_bytes_total", (("operation", "PutObject"),))] == sum(
        range(100, 107)
    )
    assert found[("nfyio_s3_response_bytes_total", (("operation", "GetObject"),))] == 250
    assert found[("nfyio_s3_request_duration_seconds_count", (("operation", "PutObject"),))] == 7
    assert found[("nfyio_api_requests_total", (("route", "/v1/buckets"), ("status", "200")))] == 2
    assert 'nfyio_s3_requests_total{operation="GetObject",status="404"} 1.0' in text
    metrics.observe_s3("PutObject", 200, 0.002, 1, 0)
    metrics.flush()
    again = _samples(metrics.scrape_registry)
    assert again[("nfyio_s3_requests_total", (("operation", "PutObject"), ("status", "200")))] == 8
    metrics.flush()  # nothing new: nothing added twice
    assert _samples(metrics.scrape_registry) == again


def test_a_failed_flush_keeps_its_tallies_for_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    """A new label set opens a value file; with no descriptor left that fails. The
    tallies not moved stay, and the next flush moves them, each once."""
    metrics = Metrics(version="t", backend="filesystem", workers=1)
    real = metrics.s3_requests.labels
    calls = {"n": 0}

    def flaky(*labels: str) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(24, "Too many open files")
        return real(*labels)

    monkeypatch.setattr(metrics.s3_requests, "labels", flaky)
    for _ in range(3):
        metrics.observe_s3("PutObject", 200, 0.002, 10, 0)
    metrics.observe_api("/v1/buckets", 200)
    with pytest.raises(OSError):
        metrics.flush()
    metrics.observe_s3("PutObject", 200, 0.002, 10, 0)
    metrics.flush()
    found = _samples(metrics.scrape_registry)
    assert found[("nfyio_s3_requests_total", (("operation", "PutObject"), ("status", "200")))] == 4
    assert found[("nfyio_s3_request_bytes_total", (("operation", "PutObject"),))] == 40
    assert found[("nfyio_s3_request_duration_seconds_count", (("operation", "PutObject"),))] == 4
    assert found[("nfyio_api_requests_total", (("route", "/v1/buckets"), ("status", "200")))] == 1
