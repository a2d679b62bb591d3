"""Whether a bucket policy is public, as S3 defines it ("The meaning of public").

A policy is public when an ``Allow`` statement reaches callers it does not name: its
principal is ``*`` (or it uses ``NotPrincipal``) and no condition pins the callers to
fixed values. Conditions that pin, among the keys the gateway evaluates (AWS's list also
names ``aws:SourceArn``, ``aws:SourceVpc``, ``aws:SourceVpce``, ``aws:SourceOwner``,
``aws:SourceAccount``, ``s3:x-amz-server-side-encryption-aws-kms-key-id``,
``s3:DataAccessPointArn`` and ``s3:DataAccessPointAccount``: the gateway has no callers
with those values, and PutBucketPolicy refuses a policy naming them as ``MalformedPolicy``,
so none reaches this test):

- ``IpAddress`` on ``aws:SourceIp`` whose CIDRs together hold at most as many addresses
  as an IPv4 ``/8`` (2**24) and, for IPv6, as a ``/32`` (2**96), each family counted on its
  own (:func:`_few_addresses`). AWS counts "a set of CIDRs" as a pin but judges a set too
  wide to pin anyone (its policy analyser, Zelkova, counts the addresses a policy admits
  against a threshold it does not publish): ``0.0.0.0/1``, or ``0.0.0.0/1`` plus
  ``128.0.0.0/1``, is every caller (docs/access-control.md, "What counts as public");
- ``StringEquals`` / ``StringEqualsIgnoreCase`` / ``StringLike`` on
  ``aws:PrincipalAccount`` or ``aws:userid`` with values without wildcards or variables;
  not ``aws:userid`` = ``anonymous``: that fixed value is every anonymous caller's.
  ``StringLike`` on ``aws:userid`` also pins with AWS's role-session form ``AROLEID:*``
  (a fixed id, ``:``, one final ``*``: every session of one role, which AWS counts as
  fixed); any other wildcard does not (:func:`_role_sessions`). The gateway's userids
  hold no ``:``, so such a value admits no caller of its own.

``aws:Referer`` and ``aws:UserAgent`` never pin: the caller sends whatever headers it likes
(AWS's own warning), so an ``Allow`` for ``*`` under them alone is public.

A pinning condition counts only as a plain operator: ``...IfExists``, a negated operator
or a ``ForAllValues:`` set test can be satisfied by a request without the value. The
action does not matter here: AWS exempts statements that grant none of its "bad actions"
(``s3:Get*``, ``s3:List*``, ``s3:Put*``, ``s3:Delete*``, ...), and every action the
gateway serves is one of those.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from typing import TypeVar

from gateway.authz.condition_keys import ANONYMOUS_USERID
from gateway.authz.conditions import Condition, Qualifier
from gateway.authz.policy import Effect, Policy, Statement
from gateway.authz.wildcard import Glob

__all__ = ["is_public", "statement_is_public"]

_STRING_PINS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike"})
_PINNING_KEYS = frozenset({"aws:principalaccount", "aws:userid"})

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
_Net = TypeVar("_Net", ipaddress.IPv4Network, ipaddress.IPv6Network)
MOST_PINNED_ADDRESSES = {4: 2 ** (32 - 8), 6: 2 ** (128 - 32)}
"""The most addresses, per IP version, that an ``aws:SourceIp`` set may hold and still
pin its callers: an IPv4 ``/8`` (the largest block ever assigned to one organisation) and
an IPv6 ``/32`` (a registry's usual allocation to one provider). More is the public."""


def _few_addresses(networks: Sequence[IpNetwork]) -> bool:
    """Whether ``networks`` together hold at most :data:`MOST_PINNED_ADDRESSES` of each
    IP version. Overlaps count once: the plain sum decides when it is small enough (the
    usual policy, a few narrow CIDRs), else the collapsed set does."""
    v4 = [n for n in networks if isinstance(n, ipaddress.IPv4Network)]
    v6 = [n for n in networks if isinstance(n, ipaddress.IPv6Network)]
    return _within(v4, MOST_PINNED_ADDRESSES[4]) and _within(v6, MOST_PINNED_ADDRESSES[6])


def _within(family: list[_Net], most: int) -> bool:
    if sum(n.num_addresses for n in family) <= most:
        return True
    return sum(n.num_addresses for n in ipaddress.collapse_addresses(family)) <= most


def _pins(condition: Condition) -> bool:
    if condition.if_exists or condition.qualifier is not Qualifier.NONE:
        return False
    if condition.operator.negated:
        return False
    key = condition.key.name.lower()
    if key == "aws:sourceip":
        return condition.operator.name == "IpAddress" and _few_addresses(condition.values)
    if key in _PINNING_KEYS and condition.operator.name in _STRING_PINS:
        userid = key == "aws:userid"  # its fixed value for anonymous callers pins none
        return all(
            isinstance(v, Glob)
            and (v.is_fixed or (userid and _role_sessions(v)))
            and not (userid and v.matches(ANONYMOUS_USERID))
            for v in condition.values
        )
    return False


def _role_sessions(value: Glob) -> bool:
    """Whether ``value`` is ``AROLEID:*``: literal characters (at least one), ``:``, then
    one ``*`` as the last token; ``*:*``, ``AROA*:*``, ``ID?:*`` or ``ID:*x`` are not."""
    tokens = value.tokens
    return (
        len(tokens) >= 3
        and tokens[-1] == ("star", "")
        and tokens[-2] == ("lit", ":")
        and all(kind == "lit" for kind, _ in tokens[:-2])
    )


def statement_is_public(statement: Statement) -> bool:
    if statement.effect is not Effect.ALLOW:
        return False
    if not (statement.not_principal or statement.principals.everyone):
        return False
    return not any(_pins(c) for c in statement.conditions)


def is_public(policy: Policy | None) -> bool:
    """GetBucketPolicyStatus's ``IsPublic``; BlockPublicPolicy refuses such a policy and
    RestrictPublicBuckets limits it to the owner's account."""
    return policy is not None and any(statement_is_public(s) for s in policy.statements)
