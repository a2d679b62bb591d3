"""Configuration precedence and validation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.config import ENV_ALIASES, Config, ConfigError, load_config
from gateway.oauth.settings import OAuthSettings, default_issuer

REPO = Path(__file__).resolve().parents[2]


def test_documented_file_matches_defaults() -> None:
    """config/gateway.toml lists the defaults: loading it changes nothing."""
    assert load_config(REPO / "config" / "gateway.toml", env={}) == Config()


def test_precedence_file_env_cli(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[server]\ns3_port = 8001\napi_port = 8002\n[storage]\nfsync = false\n")
    config = load_config(
        path,
        env={"NFYIO_API_PORT": "9002", "NFYIO_SERVER_WORKERS": "3"},
        overrides={("server", "api_port"): 10002, ("server", "host"): None},
    )
    assert config.server.s3_port == 8001
    assert config.server.api_port == 10002
    assert config.server.workers == 3
    assert config.storage.fsync is False
    assert config.server.host == "127.0.0.1"


def test_inline_objects_setting() -> None:
    assert Config().storage.inline_max_bytes == 64 * 1024
    config = load_config(env={"NFYIO_INLINE_MAX_BYTES": "0"})
    assert config.storage.inline_max_bytes == 0


def test_backend_env_names() -> None:
    config = load_config(
        env={
            "NFYIO_BACKEND": "s3",
            "NFYIO_UPSTREAM_ENDPOINT": "http://127.0.0.1:9000",
            "NFYIO_UPSTREAM_ACCESS_KEY_ID": "up",
            "NFYIO_UPSTREAM_SECRET_ACCESS_KEY": "upstream-secret-value",
            "NFYIO_UPSTREAM_REGION": "eu-west-1",
            "NFYIO_UPSTREAM_BUCKET_PREFIX": "gw-",
            "NFYIO_UPSTREAM_ADDRESSING_STYLE": "virtual",
            "NFYIO_UPSTREAM_REQUEST_CHECKSUM_CALCULATION": "when_supported",
            "NFYIO_UPSTREAM_READ_TIMEOUT": "12.5",
        }
    )
    assert (config.backend.bucket_prefix, config.backend.addressing_style) == ("gw-", "virtual")
    assert config.backend.request_checksum_calculation == "when_supported"
    assert config.backend.response_checksum_validation == "when_required"
    assert config.backend.read_timeout == 12.5
    assert config.backend.type == "s3"
    assert config.backend.endpoint_url == "http://127.0.0.1:9000"
    assert config.backend.region == "eu-west-1"
    assert "upstream-secret-value" not in repr(config)


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[server]\nbogus = 1\n", {}, "unknown option server.bogus"),
        ("[nope]\nx = 1\n", {}, "unknown section"),
        ("[server]\ns3_port = 'abc'\n", {}, "invalid value"),
        ("", {"NFYIO_FSYNC": "maybe"}, "invalid value"),
        ("", {"NFYIO_BACKEND": "tape"}, "backend.type"),
        ("", {"NFYIO_BACKEND": "s3"}, "NFYIO_UPSTREAM_ACCESS_KEY_ID"),
        ("", {"NFYIO_TLS_CERT": "/x.pem"}, "tls_key"),
        ("[server\n", {}, "cannot read"),
        ("[ratelimit]\nrequests_per_minute = -1\n", {}, "ratelimit.requests_per_minute"),
        ("", {"NFYIO_RATELIMIT_LEASE_SECONDS": "0"}, "ratelimit.lease_seconds"),
        ("", {"NFYIO_RATELIMIT_IPV6_PREFIX": "8"}, "ratelimit.ipv6_prefix"),
        ("", {"NFYIO_AUDIT_RETENTION_DAYS": "-1"}, "audit.retention_days"),
        ("", {"NFYIO_AUDIT_FLUSH_INTERVAL": "nan"}, "audit.flush_interval"),
        ("", {"NFYIO_INLINE_MAX_BYTES": "-1"}, "storage.inline_max_bytes"),
        ("[storage]\ninline_max_bytes = 131073\n", {}, "storage.inline_max_bytes"),
        # A TOML value of another type is refused, not converted (7007.9 is not 7007).
        ("[server]\ns3_port = 7007.9\n", {}, "server.s3_port: invalid value"),
        ("[server]\nworkers = true\n", {}, "server.workers: invalid value"),
        ("[server]\nshutdown_timeout = inf\n", {}, "server.shutdown_timeout: invalid"),
        ("[s3]\nregion = 5\n", {}, "s3.region: expected a string"),
        ("", {"NFYIO_DATA_DIR": ""}, "storage.data_dir is empty"),
        ("[auth]\nmaster_key = 123456789\n", {}, r"auth.master_key: [^1-9]*\Z"),
    ],
)
def test_bad_configuration_is_a_clear_error(
    tmp_path: Path, text: str, env: dict[str, str], message: str
) -> None:
    path = tmp_path / "g.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path, env=env)


def test_identity_url_and_pool_from_environment() -> None:
    config = load_config(
        env={
            "NFYIO_IDENTITY_URL": "postgresql://gw:pw@db.example:5432/nfyio",
            "NFYIO_MASTER_KEY_FILE": "/run/secrets/master",
            "NFYIO_IDENTITY_POOL_MAX_SIZE": "4",
            "NFYIO_IDENTITY_CACHE_SECONDS": "2.5",
        }
    )
    assert config.identity.is_postgres
    assert config.identity.pool_max_size == 4
    assert config.identity.cache_seconds == 2.5
    assert config.auth.master_key_file == "/run/secrets/master"
    assert "pw" not in repr(config)


def test_postgres_state_refuses_a_per_host_master_key() -> None:
    with pytest.raises(ConfigError, match="NFYIO_MASTER_KEY"):
        load_config(env={"NFYIO_IDENTITY_URL": "postgresql://gw@db.example/nfyio"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NFYIO_IDENTITY_URL": "mysql://db/x"}, "identity.url"),
        ({"NFYIO_IDENTITY_POOL_MIN_SIZE": "20"}, "pool_min_size"),
        ({"NFYIO_IDENTITY_STATEMENT_TIMEOUT": "0"}, "statement_timeout"),
        ({"NFYIO_IDENTITY_CACHE_SECONDS": "-1"}, "cache_seconds"),
        ({"NFYIO_MASTER_KEY": "a", "NFYIO_MASTER_KEY_FILE": "b"}, "not both"),
    ],
)
def test_identity_settings_are_validated(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("NFYIO_AUTH_ACCESS_TOKEN_TTL", "0", False),
        ("NFYIO_AUTH_ACCESS_TOKEN_TTL", "2592000", True),
        ("NFYIO_AUTH_ACCESS_TOKEN_TTL", "2592001", False),
        ("NFYIO_AUTH_REFRESH_TOKEN_TTL", "315360000", True),
        ("NFYIO_AUTH_REFRESH_TOKEN_TTL", "99999999999999", False),
        ("NFYIO_AUTH_JWT_LEEWAY", "0", True),
        ("NFYIO_AUTH_JWT_LEEWAY", "-1", False),
        ("NFYIO_AUTH_THROTTLE_BASE_DELAY", "nan", False),
        ("NFYIO_AUTH_THROTTLE_MAX_DELAY", "1e300", False),
        ("NFYIO_AUTH_THROTTLE_MAX_DELAY", "86400", True),
        ("NFYIO_S3_MAX_CLOCK_SKEW_SECONDS", "0", False),
    ],
)
def test_durations_added_to_now_are_bounded(name: str, value: str, allowed: bool) -> None:
    """Lifetimes and delays become ``now + value``: out of range, every login (or every
    throttled one, or every signed request) would fail past the year 9999."""
    if allowed:
        load_config(env={name: value})
    else:
        with pytest.raises(ConfigError, match=r"seconds|invalid value"):
            load_config(env={name: value})


@pytest.mark.parametrize(
    ("issuer", "allowed"),
    [
        ("https://auth.example", True),
        ("https://auth.example:8443/tenant/", True),
        ("http://localhost:3000", True),
        ("auth.example", False),
        ("ftp://auth.example", False),
        ("https://auth.example/?x=1", False),
        ("https://auth.example?", False),
        ("https://auth.example/#top", False),
        ("https://user:hunter2@auth.example", False),
        ("https://auth.example/a b", False),
        ("https://auth.example:0", False),
        ("https://", False),
    ],
)
@pytest.mark.parametrize(
    ("name", "setting"),
    [("NFYIO_ISSUER", "auth.issuer"), ("NFYIO_UPSTREAM_ENDPOINT", "backend.endpoint_url")],
)
def test_the_issuer_and_upstream_are_urls_without_query_or_fragment(
    issuer: str, allowed: bool, name: str, setting: str
) -> None:
    """RFC 8414 2: every token's ``iss`` and the metadata's endpoint URLs are built on
    it; a query, fragment or bare host name made a metadata document no client could
    use, and a password in it is never repeated in the message. The upstream endpoint
    is read by the same rule (it took an empty ``?``, a user part and spaces)."""
    if allowed:
        loaded = load_config(env={name: issuer})
        value = loaded.auth.issuer if name == "NFYIO_ISSUER" else loaded.backend.endpoint_url
        assert value == issuer
    else:
        with pytest.raises(ConfigError, match=rf"{re.escape(setting)} must be") as refused:
            load_config(env={name: issuer})
        assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("name", ["NFYIO_ISSUER", "NFYIO_AUTH_ISSUER"])
def test_an_empty_issuer_is_the_default(name: str) -> None:
    """Empty is unset, as the OAuth settings read it (the API listener's URL): a compose
    file's ``NFYIO_ISSUER: ${NFYIO_ISSUER:-}`` started the gateway before the issuer
    check, and must still."""
    config = load_config(env={name: ""})
    assert OAuthSettings.from_config(config).issuer == default_issuer(config).rstrip("/")


@pytest.mark.parametrize("audience", ["", " nfyio"])
def test_the_audience_is_a_name(audience: str) -> None:
    with pytest.raises(ConfigError, match=r"auth\.audience"):
        load_config(env={"NFYIO_AUTH_AUDIENCE": audience})


def test_rate_limits_and_audit_from_the_environment() -> None:
    config = load_config(
        env={
            "NFYIO_RATELIMIT_REQUESTS_PER_MINUTE": "600",
            "NFYIO_RATELIMIT_ACCOUNT_BURST": "50",
            "NFYIO_AUDIT_FILE": "/var/log/nfyio/audit.jsonl",
            "NFYIO_AUDIT_ENABLED": "false",
        }
    )
    assert config.ratelimit.requests_per_minute == 600
    assert config.ratelimit.account_burst == 50
    assert config.audit.file == "/var/log/nfyio/audit.jsonl"
    assert config.audit.enabled is False


def test_cors_lists_from_the_file_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text(
        '[cors]\ndefault_origins = ["https://a.example", "https://*.b.example"]\n'
        'default_methods = ["GET", "PUT"]\n'
    )
    config = load_config(path, env={})
    assert config.cors.default_origins == ("https://a.example", "https://*.b.example")
    assert config.cors.default_methods == ("GET", "PUT")
    env = {"NFYIO_CORS_API_ORIGINS": "https://app.example, http://localhost:5173"}
    config = load_config(path, env=env)
    assert config.cors.api_origins == ("https://app.example", "http://localhost:5173")
    assert load_config(env={}).cors.default_origins == ()  # off by default


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"NFYIO_CORS_DEFAULT_ORIGINS": "https://*.*.example"}, "more than one wildcard"),
        ({"NFYIO_CORS_DEFAULT_METHODS": "GET,PATCH"}, "default_methods"),
        ({"NFYIO_CORS_DEFAULT_EXPOSE_HEADERS": "ETag,x-*"}, "default_expose_headers"),
        ({"NFYIO_CORS_API_ORIGINS": "https://*.example"}, "api_origins"),
        ({"NFYIO_CORS_API_ORIGINS": "app.example"}, "api_origins"),
        ({"NFYIO_CORS_API_ORIGINS": "https://app.example/"}, "api_origins"),
        ({"NFYIO_CORS_API_MAX_AGE": "-1"}, "api_max_age"),
    ],
)
def test_cors_settings_are_validated(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env=env)


def test_cors_list_in_the_file_must_hold_strings(tmp_path: Path) -> None:
    path = tmp_path / "gateway.toml"
    path.write_text("[cors]\napi_origins = [1]\n")
    with pytest.raises(ConfigError, match="list of strings"):
        load_config(path, env={})


def test_lifecycle_settings_from_the_environment() -> None:
    config = load_config(
        env={
            "NFYIO_LIFECYCLE_DAY_SECONDS": "1.5",
            "NFYIO_LIFECYCLE_SWEEP_INTERVAL": "0.2",
            "NFYIO_LIFECYCLE_BATCH": "10",
            "NFYIO_LIFECYCLE_ENABLED": "false",
        }
    )
    lifecycle = config.lifecycle
    assert (lifecycle.day_seconds, lifecycle.sweep_interval, lifecycle.batch) == (1.5, 0.2, 10)
    assert lifecycle.enabled is False
    for name, value in (
        ("NFYIO_LIFECYCLE_DAY_SECONDS", "0"),
        ("NFYIO_LIFECYCLE_SWEEP_INTERVAL", "-1"),
        ("NFYIO_LIFECYCLE_BATCH", "0"),
        ("NFYIO_LIFECYCLE_DAY_SECONDS", "nan"),
    ):
        with pytest.raises(ConfigError):
            load_config(env={name: value})


def test_the_examples_variables_leave_the_gateway_alone() -> None:
    """The examples tell users to export their settings in the shell that may also run
    ``make run`` and the operator commands, so no variable an example reads may stop the
    gateway (an ``NFYIO_S3_ENDPOINT`` once read as the unknown option ``s3.endpoint``).
    Each one is either not the gateway's at all or one of its documented aliases, shared
    on purpose (the root key's secret)."""
    pattern = re.compile(r"\b(?:NFYIO|AWS)_[A-Z0-9_]+")
    names: set[str] = set()
    for path in (REPO / "examples").rglob("*"):
        if path.is_file() and "node_modules" not in path.parts and path.suffix != ".md":
            names.update(pattern.findall(path.read_text(encoding="utf-8", errors="replace")))
    assert "AWS_ENDPOINT_URL" in names and "NFYIO_BUCKET" in names  # the scan finds them
    for name in sorted(names):
        if name in ENV_ALIASES:
            continue
        assert load_config(env={name: "http://localhost:7007"}) == Config(), name
