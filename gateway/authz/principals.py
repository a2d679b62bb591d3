"""The ``Principal`` / ``NotPrincipal`` element of a policy statement, and matching it.

Supported forms: ``"*"``; ``{"AWS": ...}`` with ``"*"``, an account id,
``arn:aws:iam::<account>:root`` or ``arn:aws:iam::<account>:user/<name>`` (one or a list);
``{"CanonicalUser": "<64 hex>"}`` (one or a list). Account ids are the gateway's own
(``acct_...``) or AWS-style 12 digits: any token without ``:``, ``/`` or wildcards.

A caller has one or two identities: its account (named by id, by root ARN or by canonical
id) and, for a user, the user ARN. ``Principal`` matches when any identity is listed;
``NotPrincipal`` excludes a caller only when *every* identity is listed, which is why AWS
asks to list the account next to the user in ``NotPrincipal`` with ``Deny``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gateway.authz.context import PrincipalFacts
from gateway.authz.errors import malformed_policy

__all__ = ["PrincipalSet", "parse_principal"]

_ACCOUNT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_ROOT = re.compile(r"arn:aws:iam::([^:]+):root")
_USER = re.compile(r"arn:aws:iam::([^:]+):user/(.+)")
_CANONICAL = re.compile(r"[0-9a-fA-F]{64}")


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    everyone: bool = False
    accounts: frozenset[str] = frozenset()
    users: frozenset[tuple[str, str]] = frozenset()
    """(account id, user name)"""
    canonical_ids: frozenset[str] = frozenset()
    """lower-case"""

    def _listed(self, p: PrincipalFacts) -> tuple[bool, bool | None]:
        """(account identity listed, user identity listed or None for a non-user)."""
        if self.everyone:
            return True, True
        account = p.account_id in self.accounts or (
            p.canonical_id is not None and p.canonical_id.lower() in self.canonical_ids
        )
        if p.user_name is None or p.account_id is None:
            return account, None
        return account, (p.account_id, p.user_name) in self.users

    def matches(self, p: PrincipalFacts) -> bool:
        """``Principal``: the caller is named (anonymous callers only by ``*``)."""
        if p.is_anonymous:
            return self.everyone
        account, user = self._listed(p)
        return account or bool(user)

    def excludes(self, p: PrincipalFacts) -> bool:
        """``NotPrincipal``: every identity of the caller is listed."""
        if p.is_anonymous:
            return self.everyone
        account, user = self._listed(p)
        return account and user is not False

    @property
    def is_fixed(self) -> bool:
        return not self.everyone


def _aws(value: str, accounts: set[str], users: set[tuple[str, str]]) -> bool:
    """Add one ``AWS`` entry; returns True for ``*``."""
    if value == "*":
        return True
    root = _ROOT.fullmatch(value)
    user = _USER.fullmatch(value)
    if root is not None and _ACCOUNT.fullmatch(root.group(1)):
        accounts.add(root.group(1))
    elif user is not None and _ACCOUNT.fullmatch(user.group(1)) and "*" not in user.group(2):
        users.add((user.group(1), user.group(2)))
    elif _ACCOUNT.fullmatch(value):
        accounts.add(value)
    else:
        raise malformed_policy("Invalid principal in policy")
    return False


def _entries(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise malformed_policy("Invalid principal in policy")
    return [str(v) for v in items]


def parse_principal(element: object) -> PrincipalSet:
    if element == "*":
        return PrincipalSet(everyone=True)
    if not isinstance(element, dict) or not element:
        raise malformed_policy("Invalid principal in policy")
    everyone = False
    accounts: set[str] = set()
    users: set[tuple[str, str]] = set()
    canonical: set[str] = set()
    for kind, value in element.items():
        if kind == "AWS":
            for entry in _entries(value):
                everyone |= _aws(entry, accounts, users)
        elif kind == "CanonicalUser":
            for entry in _entries(value):
                if not _CANONICAL.fullmatch(entry):
                    raise malformed_policy("Invalid principal in policy")
                canonical.add(entry.lower())
        else:  # Service, Federated: no such callers exist in the gateway
            raise malformed_policy("Invalid principal in policy")
    return PrincipalSet(everyone, frozenset(accounts), frozenset(users), frozenset(canonical))
