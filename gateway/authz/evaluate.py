"""Evaluating a bucket policy for one request: explicit deny > allow > implicit deny.

A statement applies when its principal, action, resource and every condition match.
``evaluate`` reports the first applying ``Deny`` statement and the first applying
``Allow`` statement; the decision (``gateway.authz.decide``) ranks them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.authz.condition_keys import lookup_key
from gateway.authz.context import PrincipalFacts, RequestContext
from gateway.authz.policy import Effect, Policy, Statement
from gateway.authz.wildcard import Resolver

__all__ = ["PolicyResult", "evaluate", "resource_arn", "statement_applies"]


def resource_arn(bucket: str, key: str | None = None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key`` (the key as stored)."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


@dataclass(frozen=True, slots=True)
class PolicyResult:
    denied_by: Statement | None = None
    allowed_by: Statement | None = None

    @property
    def explicit_deny(self) -> bool:
        return self.denied_by is not None

    @property
    def allowed(self) -> bool:
        return self.denied_by is None and self.allowed_by is not None


def _resolver(principal: PrincipalFacts, ctx: RequestContext) -> Resolver:
    def resolve(name: str) -> str | None:
        key = lookup_key(name)
        values = None if key is None else key.read(principal, ctx)
        if values is None or len(values) != 1:
            return None
        return values[0]

    return resolve


def statement_applies(
    statement: Statement,
    principal: PrincipalFacts,
    action: str,
    resource: str,
    ctx: RequestContext,
    resolve: Resolver | None = None,
) -> bool:
    """``resolve``: the request's policy-variable resolver (made here when not given;
    :func:`evaluate` makes one for all statements)."""
    if statement.not_principal:
        if statement.principals.excludes(principal):
            return False
    elif not statement.principals.matches(principal):
        return False
    if (action in statement.actions) == statement.not_action:
        return False
    if resolve is None:
        resolve = _resolver(principal, ctx)
    named = any(glob.matches(resource, resolve) for glob in statement.resources)
    if named == statement.not_resource:
        return False
    return all(c.holds(c.key.read(principal, ctx), resolve) for c in statement.conditions)


def evaluate(
    policy: Policy | None,
    principal: PrincipalFacts,
    action: str,
    resource: str,
    ctx: RequestContext,
) -> PolicyResult:
    if policy is None:
        return PolicyResult()
    denied: Statement | None = None
    allowed: Statement | None = None
    resolve = _resolver(principal, ctx)
    for statement in policy.statements:
        if statement.effect is Effect.DENY and denied is not None:
            continue
        if statement.effect is Effect.ALLOW and allowed is not None:
            continue
        if not statement_applies(statement, principal, action, resource, ctx, resolve):
            continue
        if statement.effect is Effect.DENY:
            denied = statement
        else:
            allowed = statement
    return PolicyResult(denied, allowed)
