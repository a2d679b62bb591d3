"""Evaluating a bucket policy for one request: explicit deny > allow > implicit deny.

A statement applies when its principal, action, resource and every condition match.
``evaluate`` reports the first applying ``Deny`` statement and the first applying
``Allow`` statement; the decision (``gateway.authz.decide``) ranks them.
"""

from __future__ import annotations

from gateway.authz.condition_keys import EXISTING_OBJECT_TAG_ACTIONS, lookup_key
from gateway.authz.context import PrincipalFacts, RequestContext
from gateway.authz.policy import Effect, Policy, Statement
from gateway.authz.wildcard import Resolver
from sigv4.records import record

__all__ = ["PolicyResult", "evaluate", "needs_existing_tags", "resource_arn"]


def resource_arn(bucket: str, key: str | None = None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key`` (the key as stored)."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


@record
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


def _addressed(statement: Statement, principal: PrincipalFacts, action: str) -> bool:
    """Whether the statement's principal and action elements take in this caller and
    action (what the rest of the statement is not needed to know)."""
    if statement.not_principal:
        if statement.principals.excludes(principal):
            return False
    elif not statement.principals.matches(principal):
        return False
    return (action in statement.actions) != statement.not_action


def _holds(
    statement: Statement,
    principal: PrincipalFacts,
    resource: str,
    ctx: RequestContext,
    resolve: Resolver,
) -> bool:
    """The statement's resource and condition elements, for an addressed statement."""
    # Plain loops, not any()/all() over generators: this runs for every addressed
    # statement of every request on a bucket with a policy.
    named = False
    for glob in statement.resources:
        if glob.matches(resource, resolve):
            named = True
            break
    if named == statement.not_resource:
        return False
    for condition in statement.conditions:
        if not condition.holds(condition.key.read(principal, ctx), resolve):
            return False
    return True


_CANDIDATES = 256
"""(caller identity, action) pairs remembered per policy."""


def _candidates(policy: Policy, principal: PrincipalFacts, action: str) -> tuple[Statement, ...]:
    """The statements addressed to this caller and action, in document order; worked out
    once per policy and (identity, action), since nothing else of the request enters."""
    slot = (
        principal.kind,
        principal.account_id,
        principal.canonical_id,
        principal.user_name,
        action,
    )
    memo = policy.candidates
    found = memo.get(slot)
    if found is None:
        found = tuple(s for s in policy.statements if _addressed(s, principal, action))
        if len(memo) >= _CANDIDATES:
            memo.clear()
        memo[slot] = found
    return found


def needs_existing_tags(policy: Policy, principal: PrincipalFacts, action: str) -> bool:
    """Whether deciding ``action`` for this caller reads ``s3:ExistingObjectTag/...``: the
    action carries the key and a statement addressed to the caller and action mentions it.
    The caller then reads the object's tags into ``RequestContext.existing_object_tags``.

    Cost: one attribute check for a policy that never mentions the key; else a set lookup
    and, for the actions carrying it, the memo of addressed statements ``evaluate`` reads
    anyway."""
    if not policy.reads_existing_tags or action not in EXISTING_OBJECT_TAG_ACTIONS:
        return False
    for statement in _candidates(policy, principal, action):
        if statement.reads_existing_tags:
            return True
    return False


def evaluate(
    policy: Policy | None,
    principal: PrincipalFacts,
    action: str,
    resource: str,
    ctx: RequestContext,
) -> PolicyResult:
    """Cost: the resource and conditions of the statements addressed to the caller and
    action only (``_candidates``); a statement naming other accounts or actions is not
    read again after the first request of that caller and action."""
    if policy is None:
        return PolicyResult()
    denied: Statement | None = None
    allowed: Statement | None = None
    resolve = _resolver(principal, ctx)
    for statement in _candidates(policy, principal, action):
        if statement.effect is Effect.DENY and denied is not None:
            continue
        if statement.effect is Effect.ALLOW and allowed is not None:
            continue
        if not _holds(statement, principal, resource, ctx, resolve):
            continue
        if statement.effect is Effect.DENY:
            denied = statement
        else:
            allowed = statement
    return PolicyResult(denied, allowed)
