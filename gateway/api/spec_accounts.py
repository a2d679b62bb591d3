"""The OpenAPI description of ``/v1/accounts`` (handlers: ``gateway/api/accounts.py``).

Who may call each operation comes from the route table (``gateway/api/routes.py``: the
root key only), not from here. ``tests/e2e/test_openapi.py`` runs schemathesis against the
live server so a difference fails the build.
"""

from __future__ import annotations

from typing import Any

from gateway.api.accounts import MAX_NAME
from gateway.api.openapi import NAME_RULES, Fragment, errors, json_body, json_response, ref
from gateway.api.spec_ops import RATE_LIMIT_FIELD

__all__ = ["FRAGMENT"]

_S: dict[str, Any] = {"type": "string"}
_NAME = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_NAME,
    "pattern": r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
}
_EMAIL = {
    "type": "string",
    "maxLength": 254,
    "pattern": r"^[^@\s\x00-\x1f\x7f]{1,64}@[A-Za-z0-9]([A-Za-z0-9.\-]{0,251}[A-Za-z0-9])?$",
    "description": "Unique among accounts, compared case-insensitively; names the account"
    f" in ACL grants by e-mail (x-amz-grant-*: emailAddress=...). {NAME_RULES}; the"
    " script rule reads the mailbox (before @), the domain being ASCII",
}
_ACCOUNT_ID = {"name": "account_id", "in": "path", "required": True, "schema": _S}

_SCHEMAS: dict[str, Any] = {
    "Account": {
        "type": "object",
        "required": ["id", "name", "email", "canonical_id", "display_name", "created_at"],
        "properties": {
            "id": {**_S, "description": "acct_...; the system account is acct_system"},
            "name": _S,
            "email": {"type": ["string", "null"]},
            "canonical_id": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "The canonical user id of ACL grants and Owner elements",
            },
            "display_name": _S,
            "created_at": {"type": "string", "format": "date-time"},
            "rate_limit": {
                **RATE_LIMIT_FIELD,
                "description": "Every principal of the account together (null: the default)",
            },
        },
    },
    "NewAccount": {
        "type": "object",
        "additionalProperties": False,
        "required": ["name"],
        "properties": {
            "name": {
                **_NAME,
                "description": "Unique among accounts, compared case-insensitively (409)."
                f" {NAME_RULES}",
            },
            "email": {**_EMAIL, "type": ["string", "null"]},
            "rate_limit": RATE_LIMIT_FIELD,
        },
    },
    "AccountUpdate": {
        "type": "object",
        "additionalProperties": False,
        "required": ["rate_limit"],
        "properties": {"rate_limit": RATE_LIMIT_FIELD},
    },
    "AccountWithAdminKey": {
        "allOf": [
            ref("Account"),
            {
                "type": "object",
                "required": ["admin_key"],
                "properties": {
                    "admin_key": {
                        **ref("AccessKeyWithSecret"),
                        "description": "The account's first key (scope admin of this"
                        " account only); its secret is shown only in this response",
                    }
                },
            },
        ]
    },
    "AccountPage": {
        "type": "object",
        "required": ["accounts", "next_cursor"],
        "properties": {
            "accounts": {"type": "array", "items": ref("Account")},
            "next_cursor": {"type": ["string", "null"]},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/v1/accounts": {
        "post": {
            "operationId": "createAccount",
            "tags": ["accounts"],
            "summary": "Create an account and its first admin key",
            "requestBody": json_body(ref("NewAccount")),
            "responses": {
                "201": json_response("The account and its admin key", ref("AccountWithAdminKey")),
                **errors(400, 409, 413, 415),
            },
        },
        "get": {
            "operationId": "listAccounts",
            "tags": ["accounts"],
            "summary": "List accounts in id order",
            "parameters": [
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                },
                {"name": "cursor", "in": "query", "schema": _S},
            ],
            "responses": {
                "200": json_response("One page", ref("AccountPage")),
                **errors(400),
            },
        },
    },
    "/v1/accounts/{account_id}": {
        "parameters": [_ACCOUNT_ID],
        "get": {
            "operationId": "getAccount",
            "tags": ["accounts"],
            "summary": "One account",
            "responses": {
                "200": json_response("The account", ref("Account")),
                **errors(404),
            },
        },
        "patch": {
            "operationId": "updateAccount",
            "tags": ["accounts"],
            "summary": "Set or clear the account's rate limit (all its principals together)",
            "requestBody": json_body(ref("AccountUpdate")),
            "responses": {
                "200": json_response("The account", ref("Account")),
                **errors(400, 404, 413, 415),
            },
        },
        "delete": {
            "operationId": "deleteAccount",
            "tags": ["accounts"],
            "summary": "Delete an account: its keys are revoked, its users and clients"
            " deleted; refused (409) while it owns buckets, and for the system account",
            "responses": {"204": {"description": "Deleted"}, **errors(404, 409)},
        },
    },
}

FRAGMENT = Fragment(
    paths=_PATHS,
    schemas=_SCHEMAS,
    tags=({"name": "accounts", "description": "Accounts (tenants); root key only"},),
)
