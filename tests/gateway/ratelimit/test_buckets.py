"""A worker's local view of a shared bucket: lease sizes, expiry, blocking, headers."""

from __future__ import annotations

from gateway.identity.rate_limits import MILLI, Lease, RateLimit
from gateway.ratelimit.buckets import LocalBucket, lease_cap
from gateway.ratelimit.limiter import address_bucket, configured

WALL = 1_900_000_000_000_000


def _lease(granted: int, remaining_tokens: int = 0, next_token_in_us: int = 0) -> Lease:
    return Lease(granted, remaining_tokens * MILLI, WALL + 10**9, WALL + next_token_in_us)


def test_lease_cap_is_a_fraction_of_a_second_of_the_rate_and_half_the_burst() -> None:
    assert lease_cap(RateLimit(60_000, 60_000), 0.25) == 250
    assert lease_cap(RateLimit(60_000, 100), 0.25) == 50
    assert lease_cap(RateLimit(60, 60), 0.25) == 1
    assert lease_cap(RateLimit(6, 1), 10) == 1


def test_spending_a_lease_needs_no_io_and_stops_at_expiry() -> None:
    bucket = LocalBucket("key:a", RateLimit(60_000, 60_000), 0.25)
    assert not bucket.spend(0.0)  # nothing leased yet
    bucket.leased(_lease(3, 100), now=10.0, lease_seconds=0.25, wall_us=WALL)
    assert [bucket.spend(10.1) for _ in range(4)] == [True, True, True, False]
    bucket.leased(_lease(2, 100), now=20.0, lease_seconds=0.25, wall_us=WALL)
    assert not bucket.spend(20.3)  # expired: the tokens go back instead
    assert bucket.expire(20.3) == 2
    assert bucket.expire(20.3) == 0


def test_lease_sizes_grow_with_demand_and_shrink_when_unused() -> None:
    bucket = LocalBucket("key:a", RateLimit(60_000, 60_000), 0.25)
    sizes = []
    now = 0.0
    for _ in range(12):
        want = bucket.next_size(now, 1)
        sizes.append(want)
        bucket.leased(_lease(want, 1000), now=now, lease_seconds=0.25, wall_us=WALL)
        while bucket.spend(now):
            pass
        now += 0.01  # each lease used up well before it expires
    assert sizes[:6] == [1, 2, 4, 8, 16, 32]
    assert max(sizes) == 250  # the cap
    bucket.leased(_lease(250, 1000), now=now, lease_seconds=0.25, wall_us=WALL)
    bucket.spend(now)
    assert bucket.expire(now + 1) == 249
    assert bucket.next_size(now + 1, 1) == 1  # shrunk by what went unused
    assert bucket.next_size(now + 1, 40) == 40  # but never below what is waiting


def test_an_empty_shared_bucket_blocks_until_its_next_token() -> None:
    bucket = LocalBucket("ip:203.0.113.1", RateLimit(60, 5), 0.25)
    bucket.leased(
        _lease(0, 0, next_token_in_us=1_500_000), now=5.0, lease_seconds=0.25, wall_us=WALL
    )
    assert bucket.blocked(5.0)
    assert bucket.blocked(6.4)
    assert not bucket.blocked(6.6)
    assert bucket.retry_after(5.0) == 2
    assert bucket.retry_after(6.45) == 1  # never 0


def test_headers_estimate_remaining_and_reset() -> None:
    limit = RateLimit(60, 10)  # one token per second
    bucket = LocalBucket("key:a", limit, 0.25)
    bucket.leased(_lease(1, 4), now=0.0, lease_seconds=0.25, wall_us=WALL)
    assert bucket.remaining(WALL) == 5  # one leased + four shared
    assert bucket.remaining(WALL + 2_000_000) == 7  # two seconds of refill since
    assert bucket.remaining(WALL + 3600 * 1_000_000) == 10  # never above the burst
    assert bucket.reset_at(WALL, 5) == (WALL + 5_000_000) // 1_000_000
    assert bucket.reset_at(WALL, 10) == WALL // 1_000_000


def test_configured_limits() -> None:
    assert configured(0, 100) is None
    assert configured(120, 0) == RateLimit(120, 120)
    assert configured(120, 30) == RateLimit(120, 30)


def test_anonymous_buckets_by_address() -> None:
    assert address_bucket("203.0.113.7", 64) == "ip:203.0.113.7"
    # One IPv6 /64 is one client: an attacker holds all of it.
    assert address_bucket("2001:db8:1:2:aaaa::1", 64) == address_bucket("2001:db8:1:2::ffff", 64)
    assert address_bucket("2001:db8:1:2::1", 64) == "ip:2001:db8:1:2::/64"
    assert address_bucket("2001:db8:1:3::1", 64) != address_bucket("2001:db8:1:2::1", 64)
    assert address_bucket("2001:db8:1:2::1", 128) == "ip:2001:db8:1:2::1/128"
    assert address_bucket("::ffff:203.0.113.7", 64) == "ip:203.0.113.7"
    assert address_bucket("fe80::1%eth0", 64) == "ip:fe80::/64"
    assert address_bucket("unknown", 64) == "ip:unknown"
