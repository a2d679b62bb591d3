"""Bucket policies: a JSON document parsed once into typed, frozen statements.

Validation follows what S3's PutBucketPolicy refuses with ``MalformedPolicy`` (see
``docs/access-control.md`` for the supported subset and the messages). A policy is
parsed for one bucket: every ``Resource`` must be able to name that bucket or objects in
it. Evaluation lives in ``gateway.authz.evaluate``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from gateway.authz.actions import ACTIONS, ResourceKind
from gateway.authz.condition_keys import ConditionKey, lookup_key, reads_existing_tags
from gateway.authz.conditions import Condition, as_strings, parse_operator
from gateway.authz.context import ConditionContext, PrincipalFacts
from gateway.authz.errors import malformed_policy
from gateway.authz.principals import PrincipalSet, parse_principal
from gateway.authz.wildcard import Glob, VariableError, parse_glob
from sigv4.records import record

__all__ = [
    "MAX_POLICY_BYTES",
    "VERSIONS",
    "Addressed",
    "Effect",
    "Policy",
    "PolicyResult",
    "Statement",
    "parse_policy",
]

MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
"""2012-10-17 adds policy variables; a document without ``Version`` is 2008-10-17."""

ARN_PREFIX = "arn:aws:s3:::"
_TOP_FIELDS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_FIELDS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str | None
    effect: Effect
    principals: PrincipalSet
    not_principal: bool
    action_patterns: tuple[str, ...]
    actions: frozenset[str]
    """The known actions the patterns match (AWS spelling)."""
    not_action: bool
    resources: tuple[Glob, ...]
    """Patterns over the whole ARN (``arn:aws:s3:::bucket/key``)."""
    not_resource: bool
    conditions: tuple[Condition, ...] = ()
    reads_existing_tags: bool = field(init=False, default=False)
    """A condition key or policy variable of the statement is ``s3:ExistingObjectTag/...``:
    deciding it needs the tags of the object acted on, which cost a backend read."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads_existing_tags", _mentions_existing_tags(self))


def _mentions_existing_tags(statement: Statement) -> bool:
    names: list[str] = [v for glob in statement.resources for v in glob.variables]
    for condition in statement.conditions:
        if condition.key.existing_object:
            return True
        names.extend(
            v for value in condition.values if isinstance(value, Glob) for v in value.variables
        )
    return any(reads_existing_tags(name) for name in names)


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


Matcher = tuple[tuple[str, ...], tuple[str, ...], tuple[Glob, ...] | None]


@dataclass(slots=True)
class Addressed:
    """The statements of a policy addressed to one caller identity and action, and what
    deciding them reads (built by ``gateway.authz.evaluate``, kept in ``Policy.candidates``)."""

    statements: tuple[Statement, ...]
    """In document order."""
    resources: tuple[tuple[Glob, ...], ...]
    """The distinct ``Resource``/``NotResource`` elements among them."""
    keys: tuple[ConditionKey, ...]
    """The distinct condition keys their conditions read."""
    outcomes: dict[tuple[object, ...], PolicyResult] | None
    """The result by (which elements name the resource, the values of ``keys``), which
    is all a result depends on when no element or condition holds a policy variable or a
    clock key; None when one does (each request then reads every statement)."""
    reads_existing_tags: bool = False
    """Whether one of ``statements`` mentions ``s3:ExistingObjectTag/...``."""
    matchers: tuple[Matcher, ...] = ()
    """``resources``, each made ready for the memo's question "does this element name the
    resource" (``gateway.authz.evaluate``): (prefixes, values, None) when every pattern
    of the element is a plain prefix or value (``Glob.literal``: one ``str.startswith``
    and one ``in``), else ((), (), the element's patterns)."""
    values: Callable[[ConditionContext], object] | None = None
    """An ``operator.attrgetter`` of the context attributes that make the values of the
    keys with a ``ConditionKey.attribute`` (each such value tells that key's values);
    None when no key has one."""
    other_keys: tuple[ConditionKey, ...] = ()
    """The keys without an attribute (the caller's, a tag family's): read by ``read``."""


@dataclass(frozen=True, slots=True)
class Policy:
    bucket: str
    statements: tuple[Statement, ...]
    version: str = "2012-10-17"
    id: str | None = None
    text: str = ""
    """The document as set: GetBucketPolicy returns it."""
    candidates: dict[tuple[object, ...], Addressed] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    """Memo of ``gateway.authz.evaluate``: per (caller identity, action), the statements
    whose principal and action elements apply (they depend on nothing else), so a request
    reads only those. Bounded there."""
    last: list[tuple[PrincipalFacts, str, Addressed]] = field(
        default_factory=list, compare=False, hash=False, repr=False
    )
    """The last answer of that memo, with the caller's facts object and the action it was
    for (at most one entry): a request asks twice (whether it reads the object's tags,
    then its decision) and the next request is mostly the same caller's."""
    reads_existing_tags: bool = field(init=False, default=False, compare=False)
    """Some statement reads ``s3:ExistingObjectTag/...``; False lets every request skip the
    question of reading an object's tags with one flag check."""

    def __post_init__(self) -> None:
        flag = any(s.reads_existing_tags for s in self.statements)
        object.__setattr__(self, "reads_existing_tags", flag)

    def named_accounts(self) -> frozenset[str]:
        """Every account id the principals name (root, user or plain id): S3 refuses a
        policy naming an account that does not exist (``Invalid principal in policy``),
        which the caller checks against its store."""
        out: set[str] = set()
        for s in self.statements:
            out |= s.principals.accounts | {account for account, _ in s.principals.users}
        return frozenset(out)

    def named_canonical_ids(self) -> frozenset[str]:
        return frozenset().union(*(s.principals.canonical_ids for s in self.statements))


def parse_policy(document: bytes | str, *, bucket: str, stored: bool = False) -> Policy:
    """Parse and validate a bucket policy for ``bucket``; raises ``AuthzError``
    (``MalformedPolicy``) with the reason.

    ``stored``: the text was accepted by an earlier PutBucketPolicy. Python's parser reads
    ``NaN``/``Infinity``/``-Infinity``, which are not JSON; a new policy holding them is
    refused, and one stored before that rule still reads (its value compares as text)."""
    raw = document.encode("utf-8") if isinstance(document, str) else document
    if len(raw) > MAX_POLICY_BYTES:
        raise malformed_policy(
            f"Policy exceeds the maximum allowed document size ({MAX_POLICY_BYTES} bytes)"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed_policy("This policy contains invalid Json") from exc
    if not text.lstrip().startswith("{"):
        raise malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    try:
        top = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=None if stored else _not_json,
        )
    except (ValueError, RecursionError) as exc:
        raise malformed_policy("This policy contains invalid Json") from exc
    _only_fields(top, _TOP_FIELDS)
    version = top.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise malformed_policy("The policy must contain a valid version string")
    policy_id = top.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise malformed_policy("Id must be a string")
    if "Statement" not in top:
        raise malformed_policy("Missing required field Statement")
    raw_statements = top["Statement"]
    if isinstance(raw_statements, dict):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list) or not raw_statements:
        raise malformed_policy("Statement must be an object or a non-empty list of objects")
    parser = _StatementParser(bucket, variables=version == "2012-10-17")
    statements = tuple(parser.parse(item) for item in raw_statements)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise malformed_policy("Statement IDs (SID) in a single policy must be unique")
    return Policy(bucket, statements, version, policy_id, text)


class _DuplicateKey(ValueError):
    pass


def _not_json(constant: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity``: Python's parser accepts them, JSON (and
    S3) does not."""
    raise ValueError(f"{constant} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects with a repeated name are refused: readers disagree on which wins."""
    out: dict[str, Any] = {}
    for name, value in pairs:
        if name in out:
            raise _DuplicateKey(name)
        out[name] = value
    return out


def _only_fields(element: object, allowed: frozenset[str]) -> None:
    if not isinstance(element, dict):
        raise malformed_policy("Policies must be valid JSON and the first byte must be '{'")
    for name in element:
        if name not in allowed:
            raise malformed_policy(f"Unknown field {name}")


def _one_of(statement: Mapping[str, Any], name: str, negated: str) -> tuple[Any, bool]:
    if name in statement and negated in statement:
        raise malformed_policy(f"Statement may not contain both {name} and {negated}")
    if name in statement:
        return statement[name], False
    if negated in statement:
        return statement[negated], True
    raise malformed_policy(f"Missing required field {name}")


def _string_list(value: object, error: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise malformed_policy(error)
    return [str(item) for item in items]


_ACTION_SHAPE = re.compile(r"[A-Za-z0-9*?-]+:[A-Za-z0-9*?-]+")


class _StatementParser:
    def __init__(self, bucket: str, *, variables: bool) -> None:
        self.bucket = bucket
        self.variables = variables
        self.bucket_arn = ARN_PREFIX + bucket

    def parse(self, item: object) -> Statement:
        _only_fields(item, _STATEMENT_FIELDS)
        assert isinstance(item, dict)
        sid = item.get("Sid")
        if sid is not None and not isinstance(sid, str):
            raise malformed_policy("Sid must be a string")
        if "Effect" not in item:
            raise malformed_policy("Missing required field Effect")
        if item["Effect"] not in ("Allow", "Deny"):
            raise malformed_policy(f"Invalid effect: {item['Effect']}")
        effect = Effect(item["Effect"])
        principal, not_principal = _one_of(item, "Principal", "NotPrincipal")
        principals = parse_principal(principal)
        action, not_action = _one_of(item, "Action", "NotAction")
        patterns = _string_list(action, "Policy has invalid action")
        actions = frozenset().union(*(self._action(p) for p in patterns))
        resource, not_resource = _one_of(item, "Resource", "NotResource")
        resources = tuple(
            self._resource(r) for r in _string_list(resource, "Policy has invalid resource")
        )
        if not not_action and not not_resource:
            self._actions_apply(patterns, resources)
        conditions = self._conditions(item.get("Condition", {}))
        return Statement(
            sid or None,
            effect,
            principals,
            not_principal,
            tuple(patterns),
            actions,
            not_action,
            resources,
            not_resource,
            conditions,
        )

    def _action(self, pattern: str) -> frozenset[str]:
        if pattern != "*" and not _ACTION_SHAPE.fullmatch(pattern):
            raise malformed_policy("Policy has invalid action")
        glob = parse_glob(pattern, ignore_case=True)
        matched = frozenset(name for name in ACTIONS if glob.matches(name))
        if not matched:
            raise malformed_policy("Policy has invalid action")
        return matched

    def _resource(self, text: str) -> Glob:
        if text == "*":
            return parse_glob("*")
        if not text.startswith(ARN_PREFIX):
            raise malformed_policy("Policy has invalid resource")
        try:
            glob = parse_glob(
                text,
                variables=self.variables,
                is_known_variable=lambda name: lookup_key(name) is not None,
            )
        except VariableError as exc:
            raise malformed_policy("Policy has invalid resource") from exc
        wide = glob.widened()
        if not (wide.matches(self.bucket_arn) or wide.could_match_prefix(self.bucket_arn + "/")):
            raise malformed_policy("Policy has invalid resource")
        return glob

    def _actions_apply(self, patterns: list[str], resources: tuple[Glob, ...]) -> None:
        """S3 refuses a statement naming an action none of its resources can carry,
        such as ``s3:ListBucket`` on ``arn:aws:s3:::bucket/*`` only."""
        kinds: set[ResourceKind] = set()
        for glob in resources:
            wide = glob.widened()
            if wide.matches(self.bucket_arn):
                kinds.add(ResourceKind.BUCKET)
            if wide.could_match_prefix(self.bucket_arn + "/"):
                kinds.add(ResourceKind.OBJECT)
        for pattern in patterns:
            if not any(ACTIONS[name] in kinds for name in self._action(pattern)):
                raise malformed_policy("Action does not apply to any resource(s) in statement")

    def _conditions(self, block: object) -> tuple[Condition, ...]:
        if not isinstance(block, dict):
            raise malformed_policy("Condition must be an object")
        out: list[Condition] = []
        for op_text, tests in block.items():
            parsed = parse_operator(op_text)
            if parsed is None:
                raise malformed_policy(f"Invalid Condition type : {op_text}")
            qualifier, operator, if_exists = parsed
            if not isinstance(tests, dict) or not tests:
                raise malformed_policy(f"Condition {op_text} must map keys to values")
            for key_text, raw in tests.items():
                key = lookup_key(key_text)
                if key is None:
                    raise malformed_policy(f"Policy has an invalid condition key: {key_text}")
                texts = as_strings(raw)
                if texts is None:
                    raise malformed_policy(f"Invalid Condition value for {op_text} {key_text}")
                try:
                    values = tuple(operator.parse(t, self.variables) for t in texts)
                except (ValueError, VariableError) as exc:
                    raise malformed_policy(
                        f"Invalid Condition value for {op_text} {key_text}"
                    ) from exc
                out.append(
                    Condition(op_text, operator, qualifier, if_exists, key, values, tuple(texts))
                )
        return tuple(out)
