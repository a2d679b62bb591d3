"""Access-key identifiers and secrets: generation and validation of caller input.

A ``ValueError`` of a validator here names the field and what it may hold, never the
value: the ``/v1`` API answers it as it is (docs/api.md: a secret pasted into the wrong
field must not come back in a response or a log; ``tests/security/test_rest_no_echo.py``).
The one exception is documented: a name mixing scripts is told one character of each.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
from collections.abc import Iterable

from gateway.identity import name_scripts
from gateway.scopes import ALL_SCOPES, unknown_scopes

__all__ = [
    "KEY_ID_PREFIX",
    "SECRET_PREFIX",
    "admin_key_name",
    "new_key_id",
    "new_secret",
    "require_nfkc",
    "require_one_script",
    "validate_buckets",
    "validate_explicit_key_id",
    "validate_explicit_secret",
    "validate_name",
    "validate_scopes",
]

_SCOPE_RULES = f"scopes must be a non-empty list of: {', '.join(sorted(ALL_SCOPES))}"
_BUCKET_PATTERN_RULES = (
    "bucket names or patterns must be 1 to 63 of a-z 0-9 . - and the wildcards * ? and"
    " bracket sets ([ab], [a-c], [!x]) of those characters, closed, their ranges in"
    " ascending order, each matching some bucket-name character"
)
KEY_ID_PREFIX = "ak_"
SECRET_PREFIX = "sk_"  # noqa: S105 - a prefix, not a secret
_KEY_ID_ALPHABET = string.ascii_uppercase + string.digits
_KEY_ID_LENGTH = 20  # 36**20 ~ 2**103
_MAX_NAME = 128
_MAX_BUCKET_PATTERNS = 100
# Explicit (bootstrap) credentials: what AWS/MinIO accept, minus anything that would
# break the SigV4 Credential field or an HTTP header.
_EXPLICIT_KEY_ID = re.compile(r"[A-Za-z0-9_.\-+=@]{3,128}")
_EXPLICIT_SECRET = re.compile(r"[\x21-\x7e]{8,256}")
_NAME_CHARS = frozenset(string.ascii_lowercase + string.digits + ".-")
"""The characters a bucket name may hold."""
_BUCKET_PATTERN = re.compile(r"[a-z0-9.\-*?\[\]!]{1,63}")
# The same, parsed: literals and ``*``/``?`` outside brackets; a bracket set is ``[``
# (``!`` negates), one or more names' characters, ``]``. fnmatch reads an unclosed ``[``
# or a stray ``]``/``!`` as a literal, which no bucket name holds: such a pattern would
# silently limit a key to nothing (or, in ``[]a]``, mean something else).
_BUCKET_PATTERN_GRAMMAR = re.compile(r"(?:[a-z0-9.\-*?]|\[!?[a-z0-9.\-]+\])+")
_BRACKET_SET = re.compile(r"\[(!?)([a-z0-9.\-]+)\]")
# A set's members as fnmatch reads them, left to right: ``x-y`` is a range whenever a
# character follows the hyphen (``--a`` is ``-`` to ``a``, ``a--`` is ``a`` to ``-``);
# a hyphen first, last or right after a range is itself.
_SET_MEMBER = re.compile(r"(.)-(.)|(.)")


def new_key_id() -> str:
    """``ak_`` + 20 uppercase letters/digits: usable as an AWS access key id."""
    return KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH))


def new_secret() -> str:
    """``sk_`` + 40 URL-safe characters (240 random bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(30)


def admin_key_name(account_name: str) -> str:
    """The name of the admin key an account is created with: ``<account name> admin``,
    the account's name (a valid name, up to the same length) cut so that the whole is a
    valid key name; uncut, a long account name made the creation fail after the account
    was made. An account's name in a script that Latin may not join (``Москва admin``
    would mix Cyrillic and Latin, :func:`require_one_script`) gives ``admin`` alone."""
    suffix = " admin"
    name = f"{account_name[: _MAX_NAME - len(suffix)].rstrip()}{suffix}"
    return "admin" if name_scripts.mixed_scripts(name) is not None else name


def validate_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > _MAX_NAME:
        raise ValueError(f"name must be 1 to {_MAX_NAME} characters")
    if any(not ch.isprintable() for ch in cleaned):
        raise ValueError("name must not contain control characters")
    require_nfkc(cleaned, "name")
    require_one_script(cleaned, "name")
    return cleaned


def require_nfkc(text: str, field: str) -> None:
    """Refuse text that is not its own Unicode NFKC form: ``system`` in fullwidth letters
    (U+FF53 ...), the ligature ``ﬁ``, superscripts, circled letters, a decomposed ``é``
    would otherwise make a name that reads as another one (``system``) beside it in
    listings, the console and the audit log. Other scripts pass: ``Müller`` and ``東京``
    are NFKC already."""
    if unicodedata.normalize("NFKC", text) != text:
        raise ValueError(
            f"{field} must be in Unicode NFKC form: compatibility characters (fullwidth"
            " letters, ligatures, superscripts, ...) and decomposed accents are refused;"
            " write the plain characters"
        )


def require_one_script(text: str, field: str) -> None:
    """Refuse text that mixes scripts beyond Unicode TS #39's "Highly Restrictive" level, or
    digits of several numbering systems (:mod:`gateway.identity.name_scripts`): ``admin``
    spelt with a Cyrillic a (U+0430) would read as the real ``admin`` beside it.
    ``Москва``, ``東京タワー``, ``한국 Seoul`` and ``Müller`` pass."""
    mixed = name_scripts.mixed_scripts(text)
    if mixed is not None:
        found = ", ".join(f"{script} {ch!r} (U+{ord(ch):04X})" for ch, script in mixed)
        raise ValueError(
            f"{field} mixes scripts ({found}): a letter of another script that looks like"
            " a Latin one would make it read as another name; write it in one script"
            " (Latin may go with Han and Hiragana/Katakana, Bopomofo or Hangul)"
        )
    digits = name_scripts.mixed_numbers(text)
    if digits is not None:
        found = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in digits)
        raise ValueError(
            f"{field} mixes digits of several numbering systems ({found}): write them in one"
        )


def validate_scopes(scopes: Iterable[str]) -> frozenset[str]:
    if isinstance(scopes, str):
        raise TypeError("scopes must be a collection of scope names, not one string")
    result = frozenset(scopes)
    if not result or unknown_scopes(result):
        raise ValueError(_SCOPE_RULES)
    return result


def validate_buckets(buckets: Iterable[str] | None) -> tuple[str, ...] | None:
    """Bucket names or ``fnmatch`` patterns (``logs-*``); ``None`` means every bucket."""
    if buckets is None:
        return None
    if isinstance(buckets, str):
        raise TypeError("buckets must be a collection of bucket names, not one string")
    result = tuple(dict.fromkeys(buckets))
    if len(result) > _MAX_BUCKET_PATTERNS:
        raise ValueError(f"at most {_MAX_BUCKET_PATTERNS} bucket patterns")
    if not all(_is_bucket_pattern(b) for b in result):
        raise ValueError(_BUCKET_PATTERN_RULES)
    return result


def _is_bucket_pattern(pattern: str) -> bool:
    return bool(
        _BUCKET_PATTERN.fullmatch(pattern)
        and _BUCKET_PATTERN_GRAMMAR.fullmatch(pattern)
        and all(_set_matches(m[1] == "!", m[2]) for m in _BRACKET_SET.finditer(pattern))
    )


def _set_matches(negated: bool, members: str) -> frozenset[str]:
    """The bucket-name characters a bracket set matches, read as fnmatch reads it; none
    for a set holding a reversed range (``z-a``), which fnmatch drops without a word
    (``[z-a]`` matches nothing, ``[!z-a]`` anything), whatever the set's other members.
    A set matching no bucket-name character (``[!--z]``) limits a key to nothing."""
    chars: set[str] = set()
    for member in _SET_MEMBER.finditer(members):
        low, high, single = member.groups()
        if single is not None:
            low = high = single
        if low > high:
            return frozenset()
        chars.update(c for c in _NAME_CHARS if low <= c <= high)
    return _NAME_CHARS - chars if negated else frozenset(chars)


def validate_explicit_key_id(key_id: str) -> str:
    if not _EXPLICIT_KEY_ID.fullmatch(key_id):
        raise ValueError("access key id must be 3 to 128 of A-Z a-z 0-9 _ . - + = @")
    return key_id


def validate_explicit_secret(secret: str) -> str:
    if not _EXPLICIT_SECRET.fullmatch(secret):
        raise ValueError("secret must be 8 to 256 printable ASCII characters, no spaces")
    return secret
