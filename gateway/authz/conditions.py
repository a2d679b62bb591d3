"""Condition operators: one table, operator name -> how one request value is compared
with one policy value; plus the ``...IfExists`` suffix and the ``ForAnyValue:`` /
``ForAllValues:`` set qualifiers.

Semantics (AWS's IAM reference, "Condition operators" and "Multivalued context keys"):

- the values listed for one key are ORed; keys within an operator and operators within a
  ``Condition`` are ANDed;
- a negated operator (``StringNotEquals``, ``NotIpAddress``, ...) holds when the request
  value matches none of the policy values;
- a key missing from the request: positive operators are false, negated operators are
  true, ``...IfExists`` is true, ``ForAllValues:`` is true (vacuously, the classic
  pitfall), ``ForAnyValue:`` is false; ``Null`` tests exactly this presence;
- an unqualified operator on a multi-valued key behaves as ``ForAnyValue:``;
- a request value of the wrong type (``s3:max-keys=abc`` under ``NumericLessThan``)
  matches no policy value.
"""

from __future__ import annotations

import functools
import ipaddress
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any

from gateway.authz.condition_keys import ConditionKey, Values, lookup_key
from gateway.authz.wildcard import Glob, Resolver, parse_glob
from sigv4.memo import remember

__all__ = [
    "OPERATORS",
    "Condition",
    "Operator",
    "Qualifier",
    "parse_operator",
]

IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Qualifier(Enum):
    NONE = ""
    FOR_ANY_VALUE = "ForAnyValue:"
    FOR_ALL_VALUES = "ForAllValues:"


# --- value parsers: policy text -> a typed value (ValueError when malformed) -------------


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError(text)
    return value


def _date(text: str) -> datetime:
    """ISO 8601 (date, or date and time with ``Z`` or an offset) or epoch seconds, in UTC;
    ``ValueError`` for an instant outside the years 1 to 9999 in UTC."""
    text = text.strip()
    try:
        if text.lstrip("-").isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (OverflowError, OSError) as exc:  # beyond time_t, or the year 10000 in UTC
        raise ValueError(text) from exc


def _bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError(text)
    return lowered == "true"


def _network(text: str) -> IpNetwork:
    return ipaddress.ip_network(text.strip(), strict=False)


@functools.lru_cache(maxsize=1024)
def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The request's address (parsed once per distinct text: a policy with several
    ``IpAddress`` conditions reads the same peer address each time)."""
    address = ipaddress.ip_address(text.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack listener reports IPv4 peers this way
    return address


# --- comparisons: one request value against one typed policy value ------------------------

Compare = Callable[[str, Any, Resolver], bool]


def _string(request: str, glob: Glob, resolve: Resolver) -> bool:
    return glob.matches(request, resolve)


def _numeric(test: Callable[[Decimal, Decimal], bool]) -> Compare:
    def compare(request: str, policy: Decimal, _: Resolver) -> bool:
        try:
            return test(_number(request), policy)
        except ValueError:
            return False

    return compare


def _dated(test: Callable[[datetime, datetime], bool]) -> Compare:
    def compare(request: str, policy: datetime, _: Resolver) -> bool:
        try:
            return test(_date(request), policy)
        except ValueError:
            return False

    return compare


def _in_network(request: str, policy: IpNetwork, _: Resolver) -> bool:
    try:
        address = _address(request)
    except ValueError:
        return False
    return address.version == policy.version and address in policy


def _bool_equals(request: str, policy: bool, _: Resolver) -> bool:
    return request.strip().lower() == ("true" if policy else "false")


# --- the table ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    compare: Compare
    parse: Callable[[str, bool], Any]
    """Policy text -> typed value; the flag says whether policy variables are allowed."""
    negated: bool = False
    is_null: bool = False


def _strings(*, wildcards: bool, ignore_case: bool) -> Callable[[str, bool], Glob]:
    def parse(text: str, variables: bool) -> Glob:
        return parse_glob(
            text,
            ignore_case=ignore_case,
            variables=variables,
            wildcards=wildcards,
            is_known_variable=lambda name: lookup_key(name) is not None,
        )

    return parse


def _typed(parse: Callable[[str], Any]) -> Callable[[str, bool], Any]:
    return lambda text, _variables: parse(text)


def _op(name: str, compare: Compare, parse: Callable[[str, bool], Any], **kw: bool) -> Operator:
    return Operator(name, compare, parse, **kw)


_EXACT = _strings(wildcards=False, ignore_case=False)
_EXACT_CI = _strings(wildcards=False, ignore_case=True)
_LIKE = _strings(wildcards=True, ignore_case=False)


def _ordered(
    family: str, wrap: Callable[[Callable[[Any, Any], bool]], Compare], parse: Callable[[str], Any]
) -> list[Operator]:
    """The six comparisons of a family (``NumericEquals`` ... ``NumericGreaterThanEquals``)."""
    typed = _typed(parse)
    return [
        _op(f"{family}Equals", wrap(operator.eq), typed),
        _op(f"{family}NotEquals", wrap(operator.eq), typed, negated=True),
        _op(f"{family}LessThan", wrap(operator.lt), typed),
        _op(f"{family}LessThanEquals", wrap(operator.le), typed),
        _op(f"{family}GreaterThan", wrap(operator.gt), typed),
        _op(f"{family}GreaterThanEquals", wrap(operator.ge), typed),
    ]


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        _op("StringEquals", _string, _EXACT),
        _op("StringNotEquals", _string, _EXACT, negated=True),
        _op("StringEqualsIgnoreCase", _string, _EXACT_CI),
        _op("StringNotEqualsIgnoreCase", _string, _EXACT_CI, negated=True),
        _op("StringLike", _string, _LIKE),
        _op("StringNotLike", _string, _LIKE, negated=True),
        *_ordered("Numeric", _numeric, _number),
        *_ordered("Date", _dated, _date),
        _op("Bool", _bool_equals, _typed(_bool)),
        _op("IpAddress", _in_network, _typed(_network)),
        _op("NotIpAddress", _in_network, _typed(_network), negated=True),
        _op("Null", _bool_equals, _typed(_bool), is_null=True),
    )
}
"""Every condition operator, by its exact (case-sensitive) name, without suffix or prefix."""


def parse_operator(text: str) -> tuple[Qualifier, Operator, bool] | None:
    """``ForAllValues:StringLikeIfExists`` -> (qualifier, operator, if_exists); None when
    the name is not an operator the gateway knows."""
    qualifier = Qualifier.NONE
    for candidate in (Qualifier.FOR_ANY_VALUE, Qualifier.FOR_ALL_VALUES):
        if text.startswith(candidate.value):
            qualifier, text = candidate, text[len(candidate.value) :]
            break
    if_exists = text.endswith("IfExists")
    if if_exists:
        text = text[: -len("IfExists")]
    operator = OPERATORS.get(text)
    if operator is None:
        return None
    if operator.is_null and (if_exists or qualifier is not Qualifier.NONE):
        return None  # NullIfExists / ForAnyValue:Null mean nothing
    return qualifier, operator, if_exists


_CLOCK_KEYS = frozenset({"aws:CurrentTime", "aws:EpochTime"})
"""Keys whose value changes every second: remembering outcomes by them would only churn."""
_OUTCOMES = 64
"""Distinct request values remembered per condition; the memo is emptied when full."""


@dataclass(frozen=True, slots=True)
class Condition:
    """One (operator, key, values) test of a statement's ``Condition`` block."""

    text: str
    """The operator as written, e.g. ``ForAnyValue:StringLikeIfExists``."""
    operator: Operator
    qualifier: Qualifier
    if_exists: bool
    key: ConditionKey
    values: tuple[Any, ...]
    """Typed policy values (ORed)."""
    raw_values: tuple[str, ...]
    outcomes: dict[Values | None, bool] | None = field(
        default=None, init=False, compare=False, hash=False, repr=False
    )
    """Memo of :meth:`holds` by the request's values, for a condition whose outcome is a
    function of them alone (no policy variable among its values, no clock key): the same
    few values (the caller's address, signature version, ...) come on every request, and
    a dictionary lookup costs a fraction of the comparisons. None: not memoised. Bounded
    by ``_OUTCOMES``."""

    def __post_init__(self) -> None:
        varies = self.key.name in _CLOCK_KEYS or any(
            isinstance(value, Glob) and value.variables for value in self.values
        )
        if not varies:
            object.__setattr__(self, "outcomes", {})

    def holds(self, request: Values | None, resolve: Resolver) -> bool:
        outcomes = self.outcomes
        if outcomes is None:
            return self._holds(request, resolve)
        found = outcomes.get(request)
        if found is None:
            found = remember(outcomes, request, self._holds(request, resolve), _OUTCOMES)
        return found

    def _holds(self, request: Values | None, resolve: Resolver) -> bool:
        present = request is not None and len(request) > 0
        if self.operator.is_null:
            # "Null": {"key": "true"} holds when the key is absent.
            return any(expected is (not present) for expected in self.values)
        if request is None or not present:
            if self.if_exists or self.qualifier is Qualifier.FOR_ALL_VALUES:
                return True
            if self.qualifier is Qualifier.FOR_ANY_VALUE:
                return False
            return self.operator.negated
        # Plain loops, not all()/any() over generators (twice the cost, on every
        # request of a bucket with a policy).
        if self.qualifier is Qualifier.FOR_ALL_VALUES:
            for value in request:  # noqa: SIM110
                if not self._one(value, resolve):
                    return False
            return True
        for value in request:  # noqa: SIM110
            if self._one(value, resolve):
                return True
        return False

    def _one(self, value: str, resolve: Resolver) -> bool:
        compare = self.operator.compare
        hit = False
        for policy in self.values:
            if compare(value, policy, resolve):
                hit = True
                break
        return not hit if self.operator.negated else hit


def as_strings(raw: object) -> Sequence[str] | None:
    """A condition's JSON value(s) as text (numbers and booleans as IAM prints them), or
    None when the value is not a scalar or a non-empty list of scalars."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        return None
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            return None
    return out
