"""Whether a bucket policy is public, as S3 defines it ("The meaning of public").

A policy is public when an ``Allow`` statement reaches callers it does not name: its
principal is ``*`` (or it uses ``NotPrincipal``) and no condition pins the callers to
fixed values. Conditions that pin, among the keys the gateway supports (AWS's list also
has keys for VPCs, ARNs and organizations, which the gateway has no callers for):

- ``IpAddress`` on ``aws:SourceIp`` with CIDRs narrower than the whole address space
  (a ``/0`` pins nothing);
- ``StringEquals`` / ``StringEqualsIgnoreCase`` / ``StringLike`` on
  ``aws:PrincipalAccount`` or ``aws:userid`` with values without wildcards or variables;
  not ``aws:userid`` = ``anonymous``: that fixed value is every anonymous caller's.

A pinning condition counts only as a plain operator: ``...IfExists``, a negated operator
or a ``ForAllValues:`` set test can be satisfied by a request without the value. The
action does not matter here: AWS exempts statements that grant none of its "bad actions"
(``s3:Get*``, ``s3:List*``, ``s3:Put*``, ``s3:Delete*``, ...), and every action the
gateway serves is one of those.
"""

from __future__ import annotations

from gateway.authz.condition_keys import ANONYMOUS_USERID
from gateway.authz.conditions import Condition, Qualifier
from gateway.authz.policy import Effect, Policy, Statement
from gateway.authz.wildcard import Glob

__all__ = ["is_public", "statement_is_public"]

_STRING_PINS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike"})
_PINNING_KEYS = frozenset({"aws:principalaccount", "aws:userid"})


def _pins(condition: Condition) -> bool:
    if condition.if_exists or condition.qualifier is not Qualifier.NONE:
        return False
    if condition.operator.negated:
        return False
    key = condition.key.name.lower()
    if key == "aws:sourceip":
        return condition.operator.name == "IpAddress" and all(
            network.prefixlen > 0 for network in condition.values
        )
    if key in _PINNING_KEYS and condition.operator.name in _STRING_PINS:
        anonymous = key == "aws:userid"  # its fixed value for anonymous callers pins none
        return all(
            isinstance(v, Glob) and v.is_fixed and not (anonymous and v.matches(ANONYMOUS_USERID))
            for v in condition.values
        )
    return False


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
