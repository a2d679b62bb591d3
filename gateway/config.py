"""Configuration: defaults, then ``gateway.toml``, then environment, then command line.

Every option lives in ``Config``; ``config/gateway.toml`` documents each one with its
default. Environment variables are ``NFYIO_<SECTION>_<NAME>`` upper-cased, plus the
short forms listed in ``ENV_ALIASES`` (``NFYIO_DATA_DIR``, ``NFYIO_S3_PORT``, ...).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backends.filesystem.inline import INLINE_LIMIT, INLINE_MAX


class ConfigError(Exception):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    host: str = "127.0.0.1"
    s3_port: int = 7007
    api_port: int = 3000
    workers: int = 1
    tls_cert: str | None = None
    tls_key: str | None = None
    shutdown_timeout: float = 30.0
    trusted_forwarded_headers: bool = False
    """Use X-Forwarded-Host / X-Forwarded-Proto from a trusted reverse proxy."""
    require_tls: bool = False
    """Refuse requests carrying credentials that crossed a network without TLS
    (``gateway/transport.py``)."""
    log_level: str = "info"
    access_log: bool = True
    metrics: bool = True
    """Serve ``GET /metrics`` (Prometheus text, no authentication) on the API listener."""
    sendfile: bool = True
    """Send GET bodies of plain objects above 64 KiB with ``sendfile`` on plain HTTP
    (``gateway/s3/sendfile.py``): a third to two thirds less gateway CPU per large GET
    (docs/performance.md); TLS connections and encrypted objects stream as before."""
    # Connection limits, per listener and worker process (gateway/connections.py); 0 = off.
    header_timeout: float = 30.0
    """Seconds for a request head to arrive whole (also the TLS handshake's bound)."""
    body_timeout: float = 60.0
    """Seconds without a request-body byte while the gateway waits for one."""
    body_min_rate: int = 500
    """Bytes/s a request body must average over each ``body_timeout`` window."""
    keepalive_timeout: float = 75.0
    """Seconds an idle keep-alive connection stays open."""
    send_timeout: float = 60.0
    """Seconds a response may wait for the client to read it (send buffer full)."""
    max_connections: int = 0
    """Open connections per listener and worker; 0: derived from the descriptor limit."""
    max_connections_per_address: int = 1024
    """Open connections per listener and worker from one client address."""
    bucket_stats_timeout: float = 10.0
    """Seconds ``GET /v1/buckets?stats=true`` may spend counting (upstream backend)."""


@dataclass(frozen=True, slots=True)
class S3Config:
    region: str = "us-east-1"
    domain: str | None = None
    """Base domain for virtual-hosted-style addressing (``bucket.<domain>``)."""
    max_clock_skew_seconds: int = 900
    max_object_size: int = 5 * 1024**3
    min_part_size: int = 5 * 1024**2
    max_xml_body: int = 1024 * 1024
    block_public_access: bool = False
    """The hardened setting: all four public-access-block switches on for every bucket,
    whatever the buckets' own settings (no public ACL or policy can be set or honoured)."""
    block_sse_c_on_new_buckets: bool = False
    """New buckets start with SSE-C blocked (``BlockedEncryptionTypes`` ``SSE-C``), as S3's
    have since April 2026; their owners allow it with PutBucketEncryption ``NONE``."""
    max_buckets_per_account: int = 10_000
    """Buckets one account may own (AWS's default quota): one more is ``TooManyBuckets``.
    Buckets made before accounts existed (no owner recorded) do not count."""


@dataclass(frozen=True, slots=True)
class StorageConfig:
    data_dir: str = "./data"
    fsync: bool = True
    io_threads: int = 8
    """Threads of the filesystem backend's own pool for file reads, writes and fsyncs."""
    direct_writes: bool = False
    """Write the bytes of a body past its first 4 MiB with O_DIRECT, past the page cache:
    less CPU per large write and large uploads do not evict what is read again, but a
    large object read soon after its upload comes from the disk, not memory
    (docs/filesystem-backend.md, "Direct writes")."""
    inline_max_bytes: int = INLINE_MAX
    """PUT bodies up to this size are kept in the metadata database rather than a data
    file of their own (docs/filesystem-backend.md, "Small objects inline"); 0: never."""
    temp_sweep_interval: float = 60.0
    """Seconds between two removals of the temp files a worker killed mid-upload left while
    its siblings ran (docs/filesystem-backend.md, "A dead worker's temp files"); 0: only
    when a process starts."""
    busy_timeout: float = 10.0
    """Seconds a write to the filesystem backend's metadata database waits for another
    process's write transaction before it fails ("database is locked"). A schema
    migration at start-up is waited for without this limit."""


@dataclass(frozen=True, slots=True)
class BackendConfig:
    type: str = "filesystem"
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    addressing_style: str = "path"
    bucket_prefix: str = ""
    request_checksum_calculation: str = "when_required"
    response_checksum_validation: str = "when_required"
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_pool_connections: int = 64
    spool_threshold: int = 8 * 1024 * 1024
    checksum_copy_max: int = 64 * 1024 * 1024
    conditional_writes: str = (
        "PutObject,CopyObject,CompleteMultipartUpload,DeleteObject,DeleteObjects"
    )
    """Comma-separated: where the upstream decides If-None-Match / If-Match atomically
    (the writes', DeleteObject's If-Match, DeleteObjects' ETag elements)."""
    native_checksums: bool = False


@dataclass(frozen=True, slots=True)
class AuthConfig:
    root_access_key: str | None = None
    root_secret_key: str | None = field(default=None, repr=False)
    master_key: str | None = field(default=None, repr=False)
    master_key_file: str | None = None
    """A file holding the base64 master key (0600), e.g. a mounted secret. Never created."""
    previous_master_key_files: tuple[str, ...] = ()
    """Files holding master keys rotated away from, still needed to read objects encrypted
    under them (besides ``<data_dir>/previous-master-keys/*.key``). Read only, never used
    for new data or for the state store."""
    access_token_ttl: int = 3600
    refresh_token_ttl: int = 30 * 24 * 3600
    refresh_token_idle_ttl: int = 14 * 24 * 3600
    """A refresh token unused this long (seconds) expires; 0: only the family's cap."""
    max_sessions_per_user: int = 200
    """Sessions (password-grant logins, refresh-token families) one user keeps; a login
    beyond it ends the user's oldest session."""
    issuer: str | None = None
    audience: str = "nfyio-gateway"
    jwt_leeway: int = 30
    throttle_failures: int = 5
    """Failed password logins (per username and per client address) before backoff."""
    throttle_base_delay: float = 1.0
    throttle_max_delay: float = 900.0
    usage_flush_interval: float = 5.0
    """Seconds between batched writes of access keys' ``last_used_at``."""
    hash_threads: int = 1
    """Threads (per worker) that run password and client-secret hashes (scrypt)."""
    hash_queue: int = 32
    """Hashes that may wait for a thread; beyond it, OAuth answers 429."""


@dataclass(frozen=True, slots=True)
class IdentityConfig:
    """Where the gateway keeps its shared state (keys, users, clients, tokens, throttle)."""

    url: str | None = field(default=None, repr=False)
    """Absent or ``sqlite:`` = ``<data_dir>/identity.db``; ``postgresql://...`` = shared."""
    pool_min_size: int = 1
    pool_max_size: int = 10
    pool_acquire_timeout: float = 5.0
    connect_timeout: float = 5.0
    statement_timeout: float = 5.0
    pool_max_idle: float = 300.0
    prepared_statements: bool = True
    """Keep a prepared statement per connection and SQL text (one round trip per query).
    False behind a connection pooler in transaction or statement mode (PgBouncer), which
    hands each transaction to any server connection: statements are then unnamed."""
    cache_seconds: float = 0.0
    """How long a gateway may reuse a key lookup: the bound on how late a revocation made
    elsewhere is seen. 0 = every request reads the database (revocation is immediate)."""
    bucket_cache_seconds: float = 1.0
    """How long a gateway may reuse a bucket's settings (owner, ACL, policy, public access
    block, ownership, ...): the bound on how late a change made by another host is seen.
    Workers of one host see each other's changes at once. 0 = no cache."""
    max_keys_per_account: int = 10_000
    """Active (unrevoked, unexpired) access keys one account may have through ``/v1``
    (IAM allows 5,000 users of two keys each); one more is 409 ``Conflict``."""
    max_users_per_account: int = 5_000
    """Users one account may have (IAM's default quota)."""
    max_clients_per_account: int = 1_000
    """OAuth clients one account may register."""
    ended_key_retention_days: int = 90
    """Revoked or expired access keys are deleted this many days after they ended (hourly;
    their history stays in the audit log); 0 = kept forever."""

    @property
    def is_postgres(self) -> bool:
        return self.url is not None and self.url.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    enabled: bool = True
    """Serve the web console at ``/console`` on the API listener (``/`` redirects there)."""
    s3_endpoint: str | None = None
    """The S3 endpoint URL users see (SDK snippets, presigned links). Unset: the console's
    own scheme and host with ``server.s3_port``."""


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """Token buckets per principal, per client address and per account
    (``gateway/ratelimit/``, docs/rate-limits.md). Every ``*_requests_per_minute``: 0 = off;
    every ``*burst``: 0 = the same as its requests per minute."""

    requests_per_minute: int = 60_000
    """Each access key, user and OAuth client (a key's own ``rate_limit`` overrides it)."""
    burst: int = 0
    anonymous_requests_per_minute: int = 6_000
    """Each client address (IPv6: its ``ipv6_prefix``) for requests without credentials."""
    anonymous_burst: int = 0
    account_requests_per_minute: int = 0
    """All principals of one account together (an account's own ``rate_limit`` overrides
    it); off by default."""
    account_burst: int = 0
    lease_seconds: float = 0.25
    """How long a worker may hold tokens it took from the shared bucket."""
    override_cache_seconds: float = 10.0
    """How long a worker reuses a key's or account's ``rate_limit`` override."""
    ipv6_prefix: int = 64
    """IPv6 clients share the anonymous bucket of their /ipv6_prefix network."""


@dataclass(frozen=True, slots=True)
class AuditConfig:
    """The audit log (``gateway/audit/``, docs/audit.md)."""

    enabled: bool = True
    retention_days: int = 90
    """Events older than this are deleted (hourly); 0 = kept forever."""
    flush_interval: float = 1.0
    """Seconds between batched writes of a worker's events to the state store."""
    file: str | None = None
    """Also append every event to this JSON-lines file (for log shippers)."""
    key_use_interval: int = 3600
    """``access_key.use``: at most one event per key, worker and interval (seconds);
    0 = none."""


@dataclass(frozen=True, slots=True)
class CorsConfig:
    """CORS beyond the buckets' own configurations (docs/cors.md). Lists come from TOML
    arrays or, in the environment, comma-separated values."""

    default_origins: tuple[str, ...] = ()
    """The gateway-wide rule for S3 requests to buckets without a CORS configuration of
    their own (and to the service, ListBuckets): the origins it allows (one ``*`` wildcard
    each). Empty: no default, as in S3 (such buckets refuse every cross-origin request)."""
    default_methods: tuple[str, ...] = ("GET", "HEAD", "PUT", "POST", "DELETE")
    default_headers: tuple[str, ...] = ("*",)
    default_expose_headers: tuple[str, ...] = (
        "ETag",
        "x-amz-version-id",
        "x-amz-request-id",
        "x-amz-id-2",
        "x-amz-delete-marker",
    )
    default_max_age: int = 3000
    api_origins: tuple[str, ...] = ()
    """Origins whose pages may call ``/v1`` and ``/oauth`` on the API listener (exact
    ``scheme://host[:port]``, or ``*`` for any). Empty: no CORS on the API listener."""
    api_max_age: int = 600


@dataclass(frozen=True, slots=True)
class LifecycleConfig:
    """The lifecycle sweeper (docs/lifecycle.md)."""

    enabled: bool = True
    """Apply buckets' lifecycle rules in the background (one sweeper per state store)."""
    day_seconds: float = 86_400.0
    """How long a lifecycle "day" lasts. Only tests shorten it."""
    sweep_interval: float = 60.0
    """Seconds between two passes of the sweeper."""
    batch: int = 1000
    """Listing entries (objects, versions, uploads) one pass reads at most."""
    lease_seconds: float = 60.0
    """How long the sweeping process's lease lasts without renewal before another
    process may take over (at least three sweep intervals)."""


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    s3: S3Config = field(default_factory=S3Config)
    storage: StorageConfig = field(default_factory=StorageConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    console: ConsoleConfig = field(default_factory=ConsoleConfig)
    ratelimit: RateLimitConfig = field(default_factory=RateLimitConfig)
    audit: AuditConfig = field(default_factory=AuditConfig)
    cors: CorsConfig = field(default_factory=CorsConfig)
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.storage.data_dir)


ENV_ALIASES: dict[str, tuple[str, str]] = {
    "NFYIO_DATA_DIR": ("storage", "data_dir"),
    "NFYIO_HOST": ("server", "host"),
    "NFYIO_S3_PORT": ("server", "s3_port"),
    "NFYIO_API_PORT": ("server", "api_port"),
    "NFYIO_WORKERS": ("server", "workers"),
    "NFYIO_TLS_CERT": ("server", "tls_cert"),
    "NFYIO_TLS_KEY": ("server", "tls_key"),
    "NFYIO_S3_DOMAIN": ("s3", "domain"),
    "NFYIO_REGION": ("s3", "region"),
    "NFYIO_FSYNC": ("storage", "fsync"),
    "NFYIO_DIRECT_WRITES": ("storage", "direct_writes"),
    "NFYIO_INLINE_MAX_BYTES": ("storage", "inline_max_bytes"),
    "NFYIO_BACKEND": ("backend", "type"),
    "NFYIO_UPSTREAM_ENDPOINT": ("backend", "endpoint_url"),
    "NFYIO_UPSTREAM_ACCESS_KEY_ID": ("backend", "access_key_id"),
    "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": ("backend", "secret_access_key"),
    "NFYIO_UPSTREAM_REGION": ("backend", "region"),
    "NFYIO_UPSTREAM_BUCKET_PREFIX": ("backend", "bucket_prefix"),
    "NFYIO_UPSTREAM_ADDRESSING_STYLE": ("backend", "addressing_style"),
    "NFYIO_UPSTREAM_CHECKSUMS": ("backend", "request_checksum_calculation"),
    "NFYIO_UPSTREAM_REQUEST_CHECKSUM_CALCULATION": ("backend", "request_checksum_calculation"),
    "NFYIO_UPSTREAM_RESPONSE_CHECKSUM_VALIDATION": ("backend", "response_checksum_validation"),
    "NFYIO_UPSTREAM_CONNECT_TIMEOUT": ("backend", "connect_timeout"),
    "NFYIO_UPSTREAM_READ_TIMEOUT": ("backend", "read_timeout"),
    "NFYIO_UPSTREAM_MAX_POOL_CONNECTIONS": ("backend", "max_pool_connections"),
    "NFYIO_UPSTREAM_SPOOL_THRESHOLD": ("backend", "spool_threshold"),
    "NFYIO_UPSTREAM_CHECKSUM_COPY_MAX": ("backend", "checksum_copy_max"),
    "NFYIO_UPSTREAM_CONDITIONAL_WRITES": ("backend", "conditional_writes"),
    "NFYIO_UPSTREAM_NATIVE_CHECKSUMS": ("backend", "native_checksums"),
    "NFYIO_ROOT_ACCESS_KEY": ("auth", "root_access_key"),
    "NFYIO_ROOT_SECRET_KEY": ("auth", "root_secret_key"),
    "NFYIO_MASTER_KEY": ("auth", "master_key"),
    "NFYIO_MASTER_KEY_FILE": ("auth", "master_key_file"),
    "NFYIO_PREVIOUS_MASTER_KEY_FILES": ("auth", "previous_master_key_files"),
    "NFYIO_IDENTITY_URL": ("identity", "url"),
    "NFYIO_ISSUER": ("auth", "issuer"),
}


def _coerce(section: str, name: str, raw: Any, kind: Any) -> Any:
    """``raw`` (a TOML value or an environment string) as the option's type. A TOML value
    of another type is refused rather than converted: ``s3_port = 7007.9`` is not 7007,
    ``workers = true`` is not 1, ``region = 5`` is no region."""
    text_kind = str(kind)
    where = f"{section}.{name}"
    if raw is None:
        return None
    if "tuple" in text_kind:
        items = raw.split(",") if isinstance(raw, str) else raw
        if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
            raise ConfigError(f"{where}: expected a list of strings, not {raw!r}")
        return tuple(item.strip() for item in items if item.strip())
    try:
        if "bool" in text_kind:
            if isinstance(raw, bool):
                return raw
            lowered = str(raw).strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if "int" in text_kind:
            if not isinstance(raw, int | str) or isinstance(raw, bool):
                raise TypeError(raw)
            return int(raw)
        if "float" in text_kind:
            if not isinstance(raw, int | float | str) or isinstance(raw, bool):
                raise TypeError(raw)
            number = float(raw)
            if not math.isfinite(number):
                raise ValueError(raw)
            return number
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: invalid value {raw!r}") from exc
    if not isinstance(raw, str):  # the value is not repeated: it may be a secret
        raise ConfigError(f"{where}: expected a string, not a {type(raw).__name__}")
    return raw


def _apply(config: Config, section: str, values: Mapping[str, Any], source: str) -> Config:
    current = getattr(config, section)
    kinds = {f.name: f.type for f in dataclasses.fields(current)}
    updates: dict[str, Any] = {}
    for name, raw in values.items():
        if name not in kinds:
            near = difflib.get_close_matches(name, kinds, n=1, cutoff=_NEAR)
            hint = f" (did you mean {section}.{near[0]}?)" if near else ""
            raise ConfigError(f"{source}: unknown option {section}.{name}{hint}")
        updates[name] = _coerce(section, name, raw, kinds[name])
    return dataclasses.replace(config, **{section: dataclasses.replace(current, **updates)})


def load_config(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[tuple[str, str], Any] | None = None,
) -> Config:
    """Build the configuration: defaults < file < environment < ``overrides`` (CLI)."""
    config = Config()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from exc
        for section, values in data.items():
            if section not in {f.name for f in dataclasses.fields(Config)} or not isinstance(
                values, dict
            ):
                raise ConfigError(f"{path}: unknown section [{section}]")
            config = _apply(config, section, values, str(path))
    environ = os.environ if env is None else env
    for var, value in environ.items():
        target = ENV_ALIASES.get(var)
        if target is None and var.startswith("NFYIO_"):
            parts = var[len("NFYIO_") :].lower().split("_", 1)
            if len(parts) == 2 and parts[0] in {f.name for f in dataclasses.fields(Config)}:
                target = (parts[0], parts[1])
        if target is None and var.startswith(_ALIAS_FAMILIES):
            family = var[: var.index("_", len("NFYIO_")) + 1]
            known = ", ".join(sorted(name for name in ENV_ALIASES if name.startswith(family)))
            raise ConfigError(f"${var}: unknown variable (the {family}* ones are {known})")
        if target is None and var.startswith("NFYIO_"):
            near = _nearest_variable(var)
            if near is not None:
                raise ConfigError(f"${var}: unknown variable (did you mean ${near}?)")
        if target is not None:
            config = _apply(config, target[0], {target[1]: value}, f"${var}")
    for (section, name), value in (overrides or {}).items():
        if value is not None:
            config = _apply(config, section, {name: value}, "command line")
    if config.backend.type not in {"filesystem", "s3"}:
        raise ConfigError(f"backend.type must be 'filesystem' or 's3', not {config.backend.type!r}")
    if config.auth.usage_flush_interval <= 0:
        raise ConfigError("auth.usage_flush_interval must be positive")
    if config.backend.type == "s3" and not (
        config.backend.access_key_id and config.backend.secret_access_key
    ):
        raise ConfigError(
            "backend.type = 's3' needs backend.access_key_id and backend.secret_access_key "
            "(NFYIO_UPSTREAM_ACCESS_KEY_ID / NFYIO_UPSTREAM_SECRET_ACCESS_KEY)"
        )
    if bool(config.server.tls_cert) != bool(config.server.tls_key):
        raise ConfigError("server.tls_cert and server.tls_key go together")
    if bool(config.auth.root_access_key) != bool(config.auth.root_secret_key):
        raise ConfigError(
            "auth.root_access_key and auth.root_secret_key go together "
            "(NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY)"
        )
    _check_server(config.server)
    _check_upstream(config.backend)
    _check_identity(config)
    _check_issuer(config.auth)
    _check_limits(config)
    _check_durations(config)
    _check_ops(config)
    _check_cors(config.cors)
    return config


_CORS_METHODS = frozenset({"GET", "PUT", "HEAD", "POST", "DELETE"})
_EXPOSE_HEADER = re.compile(r"[!#$%&'+.^_`|~0-9A-Za-z-]+")
"""A header name without a wildcard, as a bucket rule's ``ExposeHeader``."""


_NEAR = 0.8
"""How alike (``difflib`` ratio) an unknown name must be to a known one to count as its
misspelling: ``FSNC``/``FSYNC`` 0.89, ``WORKER``/``WORKERS`` 0.92; ``BUCKET``/``BACKEND``
(an example's variable) 0.62."""

CLIENT_VARIABLES = frozenset(
    {
        "NFYIO_API_URL",
        "NFYIO_BUCKET",
        "NFYIO_ADMIN_SECRET",
        "NFYIO_OAUTH_USER",  # examples/oauth-flow.sh
        "NFYIO_OAUTH_PASSWORD",
        "NFYIO_FUZZ",
        "NFYIO_SCREENSHOT_DIR",
    }
)
"""``NFYIO_*`` variables that are no setting of the gateway but of the project's clients
(the examples, the test tools), exported in the same shells: never refused or warned of."""

_SERVICE_LINK = re.compile(
    r"NFYIO_(?:SERVICE_HOST|SERVICE_PORT(?:_\w+)?|PORT(?:_\d+_(?:TCP|UDP|SCTP)(?:_\w+)?)?)"
)
"""What Kubernetes sets in every container of a namespace holding a Service named
``nfyio`` (its "service links"): no setting, and ``SERVICE_HOST`` would otherwise read as
a misspelt ``SERVER_HOST``."""


def _known_variables() -> dict[str, str]:
    """Every variable the gateway reads, by its name without ``NFYIO_``."""
    names = {name[len("NFYIO_") :]: name for name in ENV_ALIASES}
    defaults = Config()
    for section in dataclasses.fields(Config):
        for option in dataclasses.fields(getattr(defaults, section.name)):
            name = f"{section.name}_{option.name}".upper()
            names[name] = f"NFYIO_{name}"
    return names


def _nearest_variable(var: str) -> str | None:
    """The known variable ``var`` (an unknown ``NFYIO_*`` name outside every section) is
    a misspelling of, if it is close enough to one to be one."""
    if var in CLIENT_VARIABLES or _SERVICE_LINK.fullmatch(var):
        return None
    known = _known_variables()
    near = difflib.get_close_matches(var[len("NFYIO_") :], known, n=1, cutoff=_NEAR)
    return known[near[0]] if near else None


def ignored_variables(environ: Mapping[str, str]) -> list[str]:
    """The ``NFYIO_*`` variables of ``environ`` that configure nothing and are no known
    client's (``load_config`` has refused the misspellings of known ones): ``serve`` names
    each in a warning, since a setting meant for the gateway may hide among them."""
    ignored = []
    for var in sorted(environ):
        if not var.startswith("NFYIO_") or var in ENV_ALIASES or var in CLIENT_VARIABLES:
            continue
        if _SERVICE_LINK.fullmatch(var):
            continue
        section = var[len("NFYIO_") :].lower().split("_", 1)[0]
        if section not in {f.name for f in dataclasses.fields(Config)} or "_" not in var[6:]:
            ignored.append(var)
    return ignored


_ALIAS_FAMILIES = ("NFYIO_UPSTREAM_", "NFYIO_ROOT_", "NFYIO_MASTER_", "NFYIO_TLS_")
"""Prefixes of short names that are no section: a misspelt one (``NFYIO_UPSTREAM_ENDPOINT_URL``)
is refused like an unknown ``NFYIO_<section>_*`` name instead of being ignored."""

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
MAX_WORKERS = 1024


def _check_server(server: ServerConfig) -> None:
    if not server.host.strip():
        raise ConfigError(
            "server.host is empty: name the address to bind (0.0.0.0 or :: for every one)"
        )
    for name in ("s3_port", "api_port"):
        if not 1 <= getattr(server, name) <= 65_535:
            raise ConfigError(f"server.{name} must be from 1 to 65535")
    if not 1 <= server.workers <= MAX_WORKERS:
        raise ConfigError(f"server.workers must be from 1 to {MAX_WORKERS}")
    if server.log_level.lower() not in LOG_LEVELS:
        raise ConfigError(f"server.log_level must be one of {', '.join(LOG_LEVELS)}")
    if not 0 <= server.shutdown_timeout <= 86_400:
        raise ConfigError("server.shutdown_timeout must be from 0 to 86400 seconds")


def _http_url(url: str) -> bool:
    """Whether ``url`` is ``http(s)://host[:port][/path]``: a host, a port from 1 if any,
    no user part, no query or fragment (not even an empty ``?`` or ``#``), no space or
    control character. The one reading of the URLs the gateway is given (the upstream
    endpoint, the OAuth issuer)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        return False
    return (
        parts.scheme in {"http", "https"}
        and bool(parts.hostname)
        and port_ok
        and parts.username is None
        and "?" not in url
        and "#" not in url
        and all(c.isprintable() and not c.isspace() for c in url)
    )


def _check_upstream(backend: BackendConfig) -> None:
    """What the upstream client would otherwise refuse with a traceback in each worker
    (its enumerations are checked by ``gateway.app.upstream_config`` when ``serve``
    starts: importing the upstream client here would slow every command)."""
    url = backend.endpoint_url
    if url is not None and not _http_url(url):
        # not repeated when it has a user part, which may hold a password
        shown = "" if "@" in url else f", not {url!r}"
        raise ConfigError(
            "backend.endpoint_url must be an http(s)://host[:port][/path] URL without query, "
            f"fragment or user{shown}"
        )
    for name in ("connect_timeout", "read_timeout"):
        if not getattr(backend, name) > 0:
            raise ConfigError(f"backend.{name} must be positive")
    for name in ("max_pool_connections", "spool_threshold", "checksum_copy_max"):
        if getattr(backend, name) < 1:
            raise ConfigError(f"backend.{name} must be at least 1")


def _check_cors(cors: CorsConfig) -> None:
    """The default rule must be one S3 would accept (docs/cors.md); API origins are
    exact origins or ``*``."""
    for name in ("default_origins", "default_headers"):
        for value in getattr(cors, name):
            if value.count("*") > 1:
                raise ConfigError(f"cors.{name}: {value!r} has more than one wildcard")
    for method in cors.default_methods:
        if method not in _CORS_METHODS:
            raise ConfigError(
                f"cors.default_methods: {method!r} is not one of {sorted(_CORS_METHODS)}"
            )
    for header in cors.default_expose_headers:
        if _EXPOSE_HEADER.fullmatch(header) is None:
            raise ConfigError(f"cors.default_expose_headers: {header!r} is not a header name")
    for origin in cors.api_origins:
        if origin != "*" and ("*" in origin or "://" not in origin or origin.endswith("/")):
            raise ConfigError(
                f"cors.api_origins: {origin!r} must be an origin (scheme://host[:port]) or *"
            )
    for name in ("default_max_age", "api_max_age"):
        if not 0 <= getattr(cors, name) <= 2**31 - 1:
            raise ConfigError(f"cors.{name} must be 0 or a positive number of seconds")


# Durations the gateway adds to the current time (token lifetimes, throttle blocks, clock
# skew), in seconds: bounded so that "now + value" stays a valid instant and a typo cannot
# make a token live for centuries.
_DURATIONS: tuple[tuple[str, str, float, float], ...] = (
    ("auth", "access_token_ttl", 1, 30 * 86_400),
    ("auth", "refresh_token_ttl", 1, 3_650 * 86_400),
    ("auth", "refresh_token_idle_ttl", 0, 3_650 * 86_400),
    ("auth", "jwt_leeway", 0, 3_600),
    ("auth", "throttle_base_delay", 0, 86_400),
    ("auth", "throttle_max_delay", 0, 86_400),
    ("s3", "max_clock_skew_seconds", 1, 7 * 86_400),
)


def _check_durations(config: Config) -> None:
    for section, name, low, high in _DURATIONS:
        value = getattr(getattr(config, section), name)
        if not low <= value <= high:  # NaN fails too
            raise ConfigError(f"{section}.{name} must be from {low:g} to {high:g} seconds")


def _check_identity(config: Config) -> None:
    identity, auth = config.identity, config.auth
    url = identity.url
    if url is not None and not (url.startswith("sqlite:") or identity.is_postgres):
        raise ConfigError(
            "identity.url must be sqlite: (the default) or postgresql://user:pass@host:port/db"
        )
    if identity.is_postgres and url is not None:
        try:  # what the driver (and the password-free form in messages) parses
            port = urllib.parse.urlsplit(url).port
        except ValueError as exc:  # the URL itself is not repeated: it holds a password
            raise ConfigError(f"identity.url is not a valid PostgreSQL URL: {exc}") from None
        if port == 0:
            raise ConfigError("identity.url is not a valid PostgreSQL URL: port 0")
    if not 1 <= identity.pool_min_size <= identity.pool_max_size:
        raise ConfigError("identity.pool_min_size must be >= 1 and <= identity.pool_max_size")
    timeouts = ("pool_acquire_timeout", "connect_timeout", "statement_timeout", "pool_max_idle")
    for name in timeouts:
        if getattr(identity, name) <= 0:
            raise ConfigError(f"identity.{name} must be positive")
    if identity.cache_seconds < 0:
        raise ConfigError("identity.cache_seconds must not be negative")
    if not 0 <= identity.bucket_cache_seconds <= 3600:  # NaN fails too
        raise ConfigError("identity.bucket_cache_seconds must be from 0 to 3600")
    if not 0 <= identity.ended_key_retention_days <= 36_500:
        raise ConfigError("identity.ended_key_retention_days must be from 0 (forever) to 36500")
    for name in ("max_keys_per_account", "max_users_per_account", "max_clients_per_account"):
        if not 1 <= getattr(identity, name) <= MAX_PER_ACCOUNT:
            raise ConfigError(f"identity.{name} must be from 1 to {MAX_PER_ACCOUNT}")
    if auth.master_key and auth.master_key_file:
        raise ConfigError("set auth.master_key or auth.master_key_file, not both")
    if identity.is_postgres and not (auth.master_key or auth.master_key_file):
        raise ConfigError(
            "identity.url points at PostgreSQL, shared by several gateways: every gateway "
            "needs the same master key, so it must come from the configuration. Set "
            "NFYIO_MASTER_KEY (base64 of 32 bytes) or NFYIO_MASTER_KEY_FILE (a 0600 file "
            "holding it); a key generated per host would make every other host's secrets "
            "unreadable"
        )


def _check_issuer(auth: AuthConfig) -> None:
    """RFC 8414 2 (and RFC 9068 ``iss``): the issuer is a URL without query or fragment;
    the metadata's endpoint URLs are built on it, and every token carries it."""
    if not auth.audience or auth.audience != auth.audience.strip():
        raise ConfigError("auth.audience must be a non-empty name without surrounding spaces")
    issuer = auth.issuer
    if not issuer:  # empty is unset (a compose file's ``${NFYIO_ISSUER:-}``): the default
        return
    if not _http_url(issuer):
        raise ConfigError(
            "auth.issuer must be an http(s)://host[:port][/path] URL without query, "
            "fragment or user (RFC 8414 2)"  # not repeated: a user part may hold a password
        )


def _check_limits(config: Config) -> None:
    server = config.server
    for name in (
        "header_timeout",
        "body_timeout",
        "body_min_rate",
        "keepalive_timeout",
        "send_timeout",
        "max_connections",
        "max_connections_per_address",
    ):
        if getattr(server, name) < 0:
            raise ConfigError(f"server.{name} must be 0 (off) or positive")
    if not 1 <= config.s3.max_buckets_per_account <= MAX_PER_ACCOUNT:
        raise ConfigError(f"s3.max_buckets_per_account must be from 1 to {MAX_PER_ACCOUNT}")
    if server.bucket_stats_timeout <= 0:
        raise ConfigError("server.bucket_stats_timeout must be positive")
    if not config.storage.data_dir.strip():  # Path("") is the working directory
        raise ConfigError("storage.data_dir is empty: name the data directory")
    if config.storage.io_threads < 1:
        raise ConfigError("storage.io_threads must be at least 1")
    if not 0 <= config.storage.inline_max_bytes <= INLINE_LIMIT:
        raise ConfigError(f"storage.inline_max_bytes must be from 0 to {INLINE_LIMIT}")
    if not config.storage.temp_sweep_interval >= 0:  # NaN fails too
        raise ConfigError("storage.temp_sweep_interval must be 0 (start-up only) or positive")
    if not config.storage.busy_timeout > 0:  # NaN fails too
        raise ConfigError("storage.busy_timeout must be positive")
    if config.auth.hash_threads < 1:
        raise ConfigError("auth.hash_threads must be at least 1")
    if config.auth.hash_queue < 0:
        raise ConfigError("auth.hash_queue must be 0 or positive")
    if not 1 <= config.auth.max_sessions_per_user <= MAX_SESSIONS_PER_USER:
        raise ConfigError(f"auth.max_sessions_per_user must be from 1 to {MAX_SESSIONS_PER_USER}")
    lifecycle = config.lifecycle
    for name in ("day_seconds", "sweep_interval", "lease_seconds"):
        if not getattr(lifecycle, name) > 0:  # NaN fails too
            raise ConfigError(f"lifecycle.{name} must be positive")
    if lifecycle.batch < 1:
        raise ConfigError("lifecycle.batch must be at least 1")


def _check_ops(config: Config) -> None:
    limits = config.ratelimit
    for name in (
        "requests_per_minute",
        "burst",
        "anonymous_requests_per_minute",
        "anonymous_burst",
        "account_requests_per_minute",
        "account_burst",
    ):
        if not 0 <= getattr(limits, name) <= MAX_RATE:
            raise ConfigError(f"ratelimit.{name} must be from 0 (off) to {MAX_RATE}")
    if not 0.01 <= limits.lease_seconds <= 10:  # NaN fails too
        raise ConfigError("ratelimit.lease_seconds must be from 0.01 to 10")
    if not 0 <= limits.override_cache_seconds <= 3600:
        raise ConfigError("ratelimit.override_cache_seconds must be from 0 to 3600")
    if not 16 <= limits.ipv6_prefix <= 128:
        raise ConfigError("ratelimit.ipv6_prefix must be from 16 to 128")
    audit = config.audit
    if not 0 <= audit.retention_days <= 36_500:
        raise ConfigError("audit.retention_days must be from 0 (forever) to 36500")
    if not 0.05 <= audit.flush_interval <= 60:
        raise ConfigError("audit.flush_interval must be from 0.05 to 60 seconds")
    if not 0 <= audit.key_use_interval <= 30 * 86_400:
        raise ConfigError("audit.key_use_interval must be from 0 (off) to 2592000 seconds")


MAX_RATE = 1_000_000_000
"""The largest requests-per-minute or burst value accepted anywhere."""
MAX_PER_ACCOUNT = 10_000_000
"""The largest per-account count limit (``s3.max_buckets_per_account``,
``identity.max_*_per_account``): AWS raises its bucket quota to 1,000,000 on request;
ten times that is still a number the state store counts quickly."""
MAX_SESSIONS_PER_USER = 100_000
"""The largest ``auth.max_sessions_per_user``: each login counts them, once."""
