"""The ``nfyio-gateway`` command line."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from gateway import (
    __version__,
    cli_accounts,
    cli_audit,
    cli_keys,
    cli_master_key,
    cli_oauth,
    datadir,
    logs,
)
from gateway.bootstrap import AdminCredentials, ensure_admin
from gateway.config import Config, ConfigError, ignored_variables, load_config
from gateway.identity import key_rules
from gateway.identity.crypto import MasterKeyError, load_previous_master_keys
from gateway.identity.db import StoreUnavailable
from gateway.identity.db_postgres import redact_url
from gateway.identity.schema import SchemaError

DEFAULT_CONFIG = Path("config/gateway.toml")
DESCRIPTION = (
    "An S3-compatible storage gateway: 'serve' starts it, the other commands manage its "
    "access keys, accounts, users, OAuth clients, token signing keys, audit log and master "
    "key."
)
"""What ``--help`` prints above the commands: plain text (the module's docstring is
reStructuredText, whose double backquotes a terminal shows as they are)."""


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML configuration file")
    parser.add_argument("--data-dir", help="where objects and metadata live (./data)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nfyio-gateway", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"nfyio-gateway {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="start the S3 and API listeners")
    _add_config_options(serve)
    serve.add_argument("--host", help="address to bind (127.0.0.1)")
    serve.add_argument("--s3-port", type=int, help="S3 listener port (7007)")
    serve.add_argument("--api-port", type=int, help="REST/OAuth listener port (3000)")
    serve.add_argument("--tls-cert", help="PEM certificate: serve HTTPS on both listeners")
    serve.add_argument("--tls-key", help="PEM private key for --tls-cert")
    serve.add_argument("--workers", type=int, help="worker processes sharing the ports (1)")
    cli_keys.add_parser(commands, _add_config_options)
    cli_accounts.add_parser(commands, _add_config_options)
    cli_oauth.add_parsers(commands, _add_config_options)
    cli_audit.add_parser(commands, _add_config_options)
    cli_master_key.add_parser(commands, _add_config_options)
    return parser


def config_from_args(args: argparse.Namespace) -> Config:
    overrides: dict[tuple[str, str], Any] = {("storage", "data_dir"): args.data_dir}
    for option, target in (
        ("host", ("server", "host")),
        ("s3_port", ("server", "s3_port")),
        ("api_port", ("server", "api_port")),
        ("tls_cert", ("server", "tls_cert")),
        ("tls_key", ("server", "tls_key")),
        ("workers", ("server", "workers")),
    ):
        overrides[target] = getattr(args, option, None)
    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_config(path, overrides=overrides)


def banner(config: Config, admin: AdminCredentials) -> str:
    scheme = "https" if config.server.tls_cert else "http"
    wildcard = {"127.0.0.1", "0.0.0.0", "::"}  # noqa: S104 - printing, not binding
    host = "localhost" if config.server.host in wildcard else config.server.host
    if ":" in host:  # an IPv6 address: bracketed in a URL
        host = f"[{host}]"
    s3 = f"{scheme}://{host}:{config.server.s3_port}"
    api = f"{scheme}://{host}:{config.server.api_port}"
    lines = [
        f"nfyio-gateway {__version__}: backend {config.backend.type}, data in {config.data_dir}",
        f"  S3 endpoint:  {s3}",
        f"  API endpoint: {api}  (GET {api}/health)",
        f"  admin credentials: {admin.source}",
    ]
    key_id = admin.access_key_id or "<ACCESS_KEY_ID>"
    secret = admin.secret or "<SECRET>"
    if admin.secret:
        lines += [
            f"    access key id:     {admin.access_key_id}",
            f"    secret access key: {admin.secret}",
            "    (the secret is shown only this once: store it now)",
        ]
    lines += [
        "  try it:",
        f"    export AWS_ACCESS_KEY_ID={key_id} AWS_SECRET_ACCESS_KEY={secret}"
        f" AWS_DEFAULT_REGION={config.s3.region}",
        f"    aws --endpoint-url {s3} s3 mb s3://my-bucket",
        f"    aws --endpoint-url {s3} s3 cp README.md s3://my-bucket/",
        f"    aws --endpoint-url {s3} s3 ls s3://my-bucket",
    ]
    return "\n".join(lines)


def check_serving(config: Config) -> None:
    """What each worker would otherwise meet only when it starts or uses it: the root
    key from the environment, the upstream client's settings, an audit file it cannot
    append to, the TLS certificate and key (readable, a pair, not expired)."""
    from gateway.app import upstream_config
    from gateway.server import certificate_expiry, ssl_context

    host = config.server.host
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as exc:
        hint = " (an IPv6 address goes without brackets)" if host.startswith("[") else ""
        raise ConfigError(f"server.host {host!r} is no address to bind: {exc}{hint}") from None
    if config.backend.type == "s3":
        try:
            upstream_config(config)
        except ValueError as exc:
            raise ConfigError(f"backend: {exc}") from None
    root_id, root_secret = config.auth.root_access_key, config.auth.root_secret_key
    if root_id and root_secret:
        try:
            key_rules.validate_explicit_key_id(root_id)
            key_rules.validate_explicit_secret(root_secret)
        except ValueError as exc:  # says which rule, never the secret
            raise ConfigError(f"NFYIO_ROOT_ACCESS_KEY / NFYIO_ROOT_SECRET_KEY: {exc}") from None
    if config.audit.enabled and config.audit.file:
        # Otherwise every batch of events fails to reach the file with a warning, forever.
        try:
            os.close(os.open(config.audit.file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600))
        except OSError as exc:
            raise ConfigError(f"audit.file {config.audit.file}: {exc.strerror}") from None
    cert, key = config.server.tls_cert, config.server.tls_key
    try:
        ssl_context(config)
        expiry = certificate_expiry(cert) if cert else None
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"server.tls_cert {cert} / server.tls_key {key}: {reason}") from None
    if expiry is not None and expiry <= datetime.now(UTC):
        raise ConfigError(f"server.tls_cert {cert} expired on {expiry:%Y-%m-%d %H:%M} UTC")


def cmd_serve(config: Config) -> int:
    from gateway.server import run

    logs.configure(config.server.log_level)
    check_serving(config)
    cpus = os.cpu_count() or 1
    if config.server.workers > cpus:
        logging.getLogger("nfyio.server").warning(
            "server.workers = %d on %d CPUs: more workers than CPUs add memory and "
            "connections to the state store, not throughput",
            config.server.workers,
            cpus,
        )
    datadir.prepare(config.data_dir)  # umask 077, the directory 0700, loose modes reported
    from gateway.transport import plaintext_warning

    warning = plaintext_warning(config)
    if warning is not None:
        logging.getLogger("nfyio.server").warning("%s", warning)
    for var in ignored_variables(os.environ):
        logging.getLogger("nfyio.server").warning(
            '$%s is no setting of the gateway: ignored (docs/deploy.md, "Environment")', var
        )
    admin = asyncio.run(ensure_admin(config))
    # Checked here too (each worker reads them when it starts): a bad one stops the start
    # with its message instead of failing every worker.
    load_previous_master_keys(config.data_dir, config.auth.previous_master_key_files)
    text = banner(config, admin)

    def ready() -> None:
        print(text, flush=True)

    run(config, ready=ready)
    return 0


def _dispatch(args: argparse.Namespace, config: Config) -> int:
    if args.command == "serve":
        return cmd_serve(config)
    if not config.identity.is_postgres and not config.data_dir.exists():
        # Most likely a command run from another directory than the gateway's (./data is
        # relative) or a typo: a state store made there is not the gateway's, and a key
        # or account made in it works nowhere. Provisioning before the first start asks
        # for the directory explicitly.
        where = config.data_dir.absolute()
        raise ConfigError(
            f"the data directory {where} does not exist (is --data-dir / NFYIO_DATA_DIR "
            f"the gateway's?); to provision one before the first start: mkdir -m 700 {where}"
        )
    if args.command == "keys":
        return cli_keys.run(args, config)
    if args.command == "accounts":
        return cli_accounts.run(args, config)
    if args.command in cli_oauth.COMMANDS:
        return cli_oauth.run(args, config)
    if args.command == "audit":
        return cli_audit.run(args, config)
    if args.command == "rotate-master-key":
        return cli_master_key.run(args, config)
    return 1


_NETWORK = (TimeoutError, ConnectionError, socket.gaierror)
"""How a PostgreSQL state store that cannot be reached fails before the store wraps it in
:class:`StoreUnavailable`: refused, reset, timed out, a host name that does not resolve."""


def _store_failure(exc: BaseException, config: Config | None) -> str:
    """One line naming the state store (never its password) and what stopped it, with the
    cause a :class:`StoreUnavailable` wraps."""
    reason = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if isinstance(exc, StoreUnavailable) and cause is not None:
        reason = f"{reason}: {str(cause) or type(cause).__name__}"
    if config is None:
        return f"the state store: {reason}"
    if config.identity.is_postgres and config.identity.url is not None:
        return f"the state store {redact_url(config.identity.url)}: {reason}"
    return f"the state store in {config.data_dir}: {reason}"


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status: 0 done, 1 refused or failed (stderr says why), 2 bad arguments or
    configuration, 130 interrupted. What an operator can cause (a state store that is down
    or newer than this release, a file the user may not read or write, a port in use) is
    one line on stderr, never a traceback."""
    args = build_parser().parse_args(argv)
    config: Config | None = None
    try:
        config = config_from_args(args)
        return _dispatch(args, config)
    except ConfigError as exc:
        print(f"nfyio-gateway: configuration error: {exc}", file=sys.stderr)
        return 2
    except (MasterKeyError, SchemaError) as exc:
        # Missing, unsafe or wrong master key, an unfinished rotation, a state database
        # newer than this release: the message says what to do; a traceback would hide it.
        print(f"nfyio-gateway: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`audit tail | head`): stop as quietly as a killed `cat`.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (StoreUnavailable, asyncpg.PostgresError) as exc:
        print(f"nfyio-gateway: {_store_failure(exc, config)}", file=sys.stderr)
        return 1
    except sqlite3.Error as exc:
        # "attempt to write a readonly database": files of another user (or a read-only
        # mount); "file is not a database": not a data directory of the gateway.
        where = f" in {config.data_dir}" if config is not None else ""
        hint = (
            " (run the command as the user the gateway runs as)" if "readonly" in str(exc) else ""
        )
        print(f"nfyio-gateway: the SQLite databases{where}: {exc}{hint}", file=sys.stderr)
        return 1
    except OSError as exc:
        if isinstance(exc, _NETWORK) and config is not None and config.identity.is_postgres:
            print(f"nfyio-gateway: {_store_failure(exc, config)}", file=sys.stderr)
            return 1
        # Permission denied, read-only file system, no space left, an address in use: the
        # message names the file or the address.
        hint = ""
        if isinstance(exc, PermissionError):
            hint = " (run the command as the user the gateway runs as)"
        print(f"nfyio-gateway: {exc}{hint}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("nfyio-gateway: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
