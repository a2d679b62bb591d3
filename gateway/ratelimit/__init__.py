"""Per-principal, per-address and per-account rate limits on both listeners
(docs/rate-limits.md): token buckets in the state store, spent from leases in memory."""

from gateway.ratelimit.limiter import RateLimiter, address_bucket, configured
from gateway.ratelimit.verdict import Verdict

__all__ = ["RateLimiter", "Verdict", "address_bucket", "configured"]
