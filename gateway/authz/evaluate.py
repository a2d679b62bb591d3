"""Evaluating a bucket policy for one request: explicit deny > allow > implicit deny.

A statement applies when its principal, action, resource and every condition match.
``evaluate`` reports the first applying ``Deny`` statement and the first applying
``Allow`` statement; the decision (``gateway.authz.decide``) ranks them.
"""

from __future__ import annotations

from operator import attrgetter

from gateway.authz.condition_keys import EXISTING_OBJECT_TAG_ACTIONS, ConditionKey, lookup_key
from gateway.authz.context import ConditionContext, PrincipalFacts
from gateway.authz.policy import Addressed, Effect, Matcher, Policy, PolicyResult, Statement
from gateway.authz.wildcard import Glob, Resolver
from sigv4.memo import remember

__all__ = ["PolicyResult", "evaluate", "needs_existing_tags", "resource_arn"]

_NOTHING = PolicyResult()


def resource_arn(bucket: str, key: str | None = None) -> str:
    """``arn:aws:s3:::bucket`` or ``arn:aws:s3:::bucket/key`` (the key as stored)."""
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def _resolver(principal: PrincipalFacts, ctx: ConditionContext) -> Resolver:
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


def _names(resources: tuple[Glob, ...], resource: str, resolve: Resolver | None) -> bool:
    # Plain loops, not any()/all() over generators: this runs on every request to a
    # bucket with a policy.
    for glob in resources:  # noqa: SIM110
        if glob.matches(resource, resolve):
            return True
    return False


def _holds(
    statement: Statement,
    principal: PrincipalFacts,
    resource: str,
    ctx: ConditionContext,
    resolve: Resolver,
) -> bool:
    """The statement's resource and condition elements, for an addressed statement."""
    if _names(statement.resources, resource, resolve) == statement.not_resource:
        return False
    for condition in statement.conditions:
        if not condition.holds(condition.key.read(principal, ctx), resolve):
            return False
    return True


_CANDIDATES = 256
"""(caller identity, action) pairs remembered per policy."""
_OUTCOMES = 64
"""Results remembered per (caller identity, action): distinct resource matches and
request values (the caller's address, ...), which the client chooses; emptied when full."""


def _address(policy: Policy, principal: PrincipalFacts, action: str) -> Addressed:
    statements = tuple(s for s in policy.statements if _addressed(s, principal, action))
    resources: list[tuple[Glob, ...]] = []
    keys: dict[str, ConditionKey] = {}
    memoisable = True
    for statement in statements:
        if statement.resources not in resources:
            resources.append(statement.resources)
        if any(glob.variables for glob in statement.resources):
            memoisable = False
        for condition in statement.conditions:
            keys.setdefault(condition.key.name, condition.key)
            if condition.outcomes is None:  # a policy variable or a clock key
                memoisable = False
    attributes = tuple(key.attribute for key in keys.values() if key.attribute is not None)
    return Addressed(
        statements,
        tuple(resources),
        tuple(keys.values()),
        {} if memoisable else None,
        reads_existing_tags=any(statement.reads_existing_tags for statement in statements),
        matchers=tuple(_matcher(element) for element in resources),
        values=attrgetter(*attributes) if attributes else None,
        other_keys=tuple(key for key in keys.values() if key.attribute is None),
    )


def _matcher(element: tuple[Glob, ...]) -> Matcher:
    """``Addressed.matchers``: the element's plain prefixes and values, or its patterns."""
    prefixes: list[str] = []
    exact: list[str] = []
    for glob in element:
        prefix, value = glob.literal
        if prefix is not None:
            prefixes.append(prefix)
        elif value is not None:
            exact.append(value)
        else:
            return (), (), element
    return tuple(prefixes), tuple(exact), None


def _candidates(policy: Policy, principal: PrincipalFacts, action: str) -> Addressed:
    """The statements addressed to this caller and action, in document order; worked out
    once per policy and (identity, action), since nothing else of the request enters.
    The last answer is found by the caller's facts object itself (shared by its requests,
    immutable: the same identity) and the action, without making the memo's key."""
    last = policy.last
    if last:
        facts, last_action, answer = last[0]
        if facts is principal and last_action == action:
            return answer
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
        found = remember(memo, slot, _address(policy, principal, action), _CANDIDATES)
    if last:
        last[0] = (principal, action, found)
    else:
        last.append((principal, action, found))
    return found


def needs_existing_tags(policy: Policy, principal: PrincipalFacts, action: str) -> bool:
    """Whether deciding ``action`` for this caller reads ``s3:ExistingObjectTag/...``: the
    action carries the key and a statement addressed to the caller and action mentions it.
    The caller then reads the object's tags into ``ConditionContext.existing_object_tags``.

    Cost: one attribute check for a policy that never mentions the key; else a set lookup
    and, for the actions carrying it, the memo of addressed statements ``evaluate`` reads
    anyway (which knows whether one of them mentions the key)."""
    if not policy.reads_existing_tags or action not in EXISTING_OBJECT_TAG_ACTIONS:
        return False
    return _candidates(policy, principal, action).reads_existing_tags


def evaluate(
    policy: Policy | None,
    principal: PrincipalFacts,
    action: str,
    resource: str,
    ctx: ConditionContext,
) -> PolicyResult:
    """Cost: nothing of a statement naming other accounts or actions after the first
    request of that caller and action (``_candidates``). Of the others, the distinct
    resource elements are matched and the distinct condition keys read; the result for
    those facts is remembered (``Addressed.outcomes``), so a request like an earlier one
    reads no statement. With a policy variable or a clock key among them, every
    addressed statement is read."""
    if policy is None:
        return _NOTHING
    addressed = _candidates(policy, principal, action)
    outcomes = addressed.outcomes
    if outcomes is None:
        return _decide(addressed, principal, resource, ctx, _resolver(principal, ctx))
    # The memo's key: which elements name the resource (in C for plain prefixes and
    # values), the context attributes some keys are made of (one C call) and the other
    # keys' values. Each tells the part of the result it stands for, so the key is exact.
    facts: list[object] = []
    for prefixes, exact, patterns in addressed.matchers:
        if patterns is None:
            facts.append(resource.startswith(prefixes) or resource in exact)
            continue
        named = False
        for glob in patterns:
            if glob.matches(resource):
                named = True
                break
        facts.append(named)
    values = addressed.values
    if values is not None:
        facts.append(values(ctx))
    for key in addressed.other_keys:
        facts.append(key.read(principal, ctx))
    slot = tuple(facts)
    found = outcomes.get(slot)
    if found is None:
        found = remember(
            outcomes,
            slot,
            _decide(addressed, principal, resource, ctx, _resolver(principal, ctx)),
            _OUTCOMES,
        )
    return found


def _decide(
    addressed: Addressed,
    principal: PrincipalFacts,
    resource: str,
    ctx: ConditionContext,
    resolve: Resolver,
) -> PolicyResult:
    """The first applying ``Deny`` and the first applying ``Allow`` statement."""
    denied: Statement | None = None
    allowed: Statement | None = None
    for statement in addressed.statements:
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
    if denied is None and allowed is None:
        return _NOTHING
    return PolicyResult(denied, allowed)
