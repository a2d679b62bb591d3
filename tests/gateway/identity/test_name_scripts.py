"""The mixed-script rule of identity names (Unicode TS #39 section 5.2, "Highly
Restrictive", and section 5.3's mixed numbers), through the validators the stores call."""

from __future__ import annotations

import sys

import pytest
import regex

from gateway.identity import key_rules, name_scripts
from gateway.identity.accounts import validate_email

REFUSED = {
    "cyrillic dze, u, ie in system": "\u0455\u0443\u0455t\u0435m",
    "cyrillic a in admin": "\u0430dmin",
    "greek omicron in root": "r\u03bf\u03bft",
    "cyrillic word beside a latin one": "\u041c\u043e\u0441\u043a\u0432\u0430 Office",
    "greek beside latin": "\u0391\u0398\u0397\u039d\u0391 team",
    "han, hangul and kana together": "\u6f22\u5b57 \ud55c\uad6d \u30ab\u30bf",
    "hangul beside bopomofo": "\ud55c\uad6d \u3105\u3106",
    "arabic tatweel in latin": "abc\u0640",
    "armenian o in latin": "l\u0585gs",
}
"""Names that mix scripts beyond the allowed combinations."""

ACCEPTED = {
    "ascii": "system",
    "cyrillic": "\u041c\u043e\u0441\u043a\u0432\u0430",
    "japanese": "\u6771\u4eac\u30bf\u30ef\u30fc",
    "japanese with latin": "\u6771\u4eac Tower 2",
    "latin-1": "M\u00fcller",
    "latin acute": "Jos\u00e9",
    "greek": "\u0391\u0398\u0397\u039d\u0391",
    "hangul with latin": "\ud55c\uad6d Seoul",
    "chinese with bopomofo and latin": "\u5317\u4eac \u3105\u3106 beijing",
    "emoji and punctuation": "\U0001f680 deploy-bot (ci) #1",
    "arabic with its digits": "\u0645\u062e\u0632\u0646 \u0663",
    "combining mark on latin": "x\u0301y",
    "hebrew": "\u05e9\u05dc\u05d5\u05dd",
}
"""One script, or Latin with Han and kana / Bopomofo / Hangul; digits, punctuation,
spaces and emoji (Common) and combining marks (Inherited) go with any."""


@pytest.mark.parametrize("name", REFUSED.values(), ids=REFUSED.keys())
def test_mixed_script_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="name mixes scripts"):
        key_rules.validate_name(name)


@pytest.mark.parametrize("name", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_single_script_and_cjk_combinations_are_names(name: str) -> None:
    assert key_rules.validate_name(name) == name


def test_the_message_names_the_scripts_and_code_points() -> None:
    with pytest.raises(ValueError) as caught:
        key_rules.validate_name("\u0430dmin")
    assert "Cyrillic '\u0430' (U+0430)" in str(caught.value)
    assert "Latin 'd' (U+0064)" in str(caught.value)


@pytest.mark.parametrize(
    "name", ["1\u09e6", "\u0661\u0662 2", "\u0967\u0968 3"], ids=["bengali", "arabic", "devanagari"]
)
def test_digits_of_two_numbering_systems_are_refused(name: str) -> None:
    """An ASCII one and a Bengali zero (U+09E6) read as ``10``. Digits are Common
    (or of a few scripts), so the script rule alone lets some of them through."""
    with pytest.raises(ValueError, match="digits of several numbering systems"):
        key_rules.validate_name(name)


def test_an_email_local_part_is_held_to_one_script() -> None:
    """The domain is ASCII by the address pattern; the mailbox is checked alone, so a
    Cyrillic mailbox at a Latin domain is an address and ``admin@`` with a Cyrillic a
    (U+0430) is not."""
    cyrillic = "\u0438\u0432\u0430\u043d@example.com"
    assert validate_email(cyrillic) == cyrillic
    with pytest.raises(ValueError, match="email mixes scripts"):
        validate_email("\u0430dmin@example.com")


def test_an_admin_key_name_never_mixes_scripts() -> None:
    """``<account> admin`` is the name of an account's first key: a Cyrillic or Greek
    account name would make it mix scripts (and the account's creation fail after the
    account was made), so such an account's first key is ``admin``."""
    for account in ("\u041c\u043e\u0441\u043a\u0432\u0430", "\u0391\u0398\u0397\u039d\u0391"):
        assert key_rules.admin_key_name(account) == "admin"
    assert key_rules.admin_key_name("\u6771\u4eac") == "\u6771\u4eac admin"
    assert key_rules.admin_key_name("Acme") == "Acme admin"
    for account in [*ACCEPTED.values(), "x" * 128]:
        name = key_rules.admin_key_name(account)
        assert key_rules.validate_name(name) == name


def test_every_printable_character_has_a_script() -> None:
    """The script table covers every character Python prints (none assigned to a script
    the installed ``regex`` knows is missing from it): a character of no script would make
    any name holding it refused."""
    printable = "".join(ch for i in range(sys.maxunicode + 1) if (ch := chr(i)).isprintable())
    union = "".join(rf"\p{{scx={name}}}" for name in name_scripts.known_scripts())
    stray = regex.findall(rf"[^{union}\p{{scx=Common}}\p{{scx=Inherited}}]", printable)
    assert stray == []
    assert name_scripts.scripts_of("\u30fc") == frozenset(
        {"Hiragana", "Katakana"}
    )  # Script_Extensions
    assert name_scripts.scripts_of("1") is None


def test_the_halving_look_up_finds_every_script_of_a_character() -> None:
    """``scripts_of`` asks halves of the script list; asked one script at a time, every
    sampled character (and those of several scripts: tatweel, the prolonged sound mark,
    the ideographic comma, Devanagari danda) has the same scripts."""
    singles = [(name, regex.compile(rf"\p{{scx={name}}}")) for name in name_scripts.known_scripts()]
    sample = [chr(i) for i in range(0x80, 0x32000, 37)] + ["\u0640", "\u30fc", "\u3001", "\u0964"]
    for ch in sample:
        if not ch.isprintable() or regex.match(r"[\p{scx=Common}\p{scx=Inherited}]", ch):
            continue
        expected = frozenset(name.replace("_", " ") for name, p in singles if p.match(ch))
        assert name_scripts.scripts_of(ch) == expected, f"U+{ord(ch):04X}"
