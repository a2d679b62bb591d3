"""Mixed-script identity names: Unicode TS #39 section 5.2, "Highly Restrictive".

``system`` spelt with Cyrillic dze, u and ie (U+0455, U+0443, U+0435) beside Latin ``t``
and ``m``, or ``admin`` with a Cyrillic a (U+0430), is in NFKC form and reads as the real
name in listings, the console and the audit log. A name passes when its characters, by
their Script_Extensions, all belong to one script (Common and Inherited ones, such as
digits, punctuation, spaces, emoji and combining marks, go with any), or to one of the
combinations TS #39 allows where writing mixes scripts by nature: Latin + Han +
Hiragana + Katakana (Japanese), Latin + Han + Bopomofo (Chinese), Latin + Han + Hangul
(Korean). Decimal digits must also come from one numbering system (TS #39 section 5.3):
an ASCII ``1`` before a Bengali zero (U+09E6) reads as ``10``.

Out of scope (TS #39 calls them whole-script confusables): a name written entirely in
one script that looks like a name in another (``as`` in Cyrillic a and dze alone).

The standard library has no script property: the PyPI ``regex`` module's ``\\p{scx=...}``
is asked (the answers are cached per character).
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import regex

__all__ = ["known_scripts", "mixed_numbers", "mixed_scripts", "scripts_of"]

# Script long names (Unicode's PropertyValueAliases), every script but Common, Inherited
# and Unknown. A name the installed ``regex`` does not know is left out: its characters
# then belong to no script, and a name holding one is refused (never let through).
_SCRIPT_NAMES = (  # noqa: SIM905 - 174 names, one a line would be most of the module
    "Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah"
    " Batak Bengali Beria_Erfe Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid"
    " Canadian_Aboriginal Carian Caucasian_Albanian Chakma Cham Cherokee Chorasmian Coptic"
    " Cuneiform Cypriot Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan"
    " Egyptian_Hieroglyphs Elbasan Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha"
    " Greek Gujarati Gunjala_Gondi Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo"
    " Hatran Hebrew Hiragana Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian"
    " Javanese Jurchen Kaithi Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script"
    " Khmer Khojki Khudawadi Kirat_Rai Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian"
    " Lydian Mahajani Makasar Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin"
    " Meetei_Mayek Mende_Kikakui Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro"
    " Multani Myanmar Nabataean Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu"
    " Nyiakeng_Puachue_Hmong Ogham Ol_Chiki Ol_Onal Old_Hungarian Old_Italic"
    " Old_North_Arabian Old_Permic Old_Persian Old_Sogdian Old_South_Arabian Old_Turkic"
    " Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene Pau_Cin_Hau Phags_Pa Phoenician"
    " Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Seal Sharada Shavian Siddham Sidetic"
    " SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Sunuwar Syloti_Nagri Syriac"
    " Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Tai_Yo Takri Tamil Tangsa Tangut Telugu"
    " Thaana Thai Tibetan Tifinagh Tirhuta Todhri Tolong_Siki Toto Tulu_Tigalari Ugaritic Vai"
    " Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square"
).split()


def _compile(name: str) -> regex.Pattern[str] | None:
    try:
        return regex.compile(rf"\p{{scx={name}}}")
    except regex.error:
        return None


@functools.cache
def known_scripts() -> tuple[str, ...]:
    """The scripts a character can be told to belong to (those the installed ``regex``
    knows). Compiled at the first name beyond ASCII, not at import (some 50 ms)."""
    return tuple(name for name in _SCRIPT_NAMES if _compile(name))


@dataclass(frozen=True, slots=True)
class _Node:
    """Scripts halved down to one: a character is asked of a half only when it is in
    the union of the half's scripts: some 20 look-ups for a character of one or two
    scripts instead of 174, one per script (128 new characters: 1.5 ms on the event loop
    rather than 8)."""

    pattern: regex.Pattern[str]
    name: str  # the script of a leaf
    halves: tuple[_Node, ...]


def _tree(names: tuple[str, ...]) -> _Node:
    pattern = regex.compile("[" + "".join(rf"\p{{scx={name}}}" for name in names) + "]")
    if len(names) == 1:
        return _Node(pattern, names[0].replace("_", " "), ())
    half = len(names) // 2
    return _Node(pattern, "", (_tree(names[:half]), _tree(names[half:])))


def _collect(node: _Node, ch: str, found: set[str]) -> None:
    if node.pattern.match(ch):
        if not node.halves:
            found.add(node.name)
        for half in node.halves:
            _collect(half, ch, found)


@functools.cache
def _scripts() -> _Node:
    return _tree(known_scripts())


_ANY_SCRIPT = regex.compile(r"[\p{scx=Common}\p{scx=Inherited}]")
# TS #39's allowed combinations, each also covering the augmented sets (Jpan, Hanb, Kore):
# a Han character is Japanese, Chinese or Korean; kana Japanese; Hangul Korean; Bopomofo
# Chinese.
_HAN_COMBINATIONS = (
    frozenset({"Latin", "Han", "Hiragana", "Katakana"}),
    frozenset({"Latin", "Han", "Bopomofo"}),
    frozenset({"Latin", "Han", "Hangul"}),
)
_AUGMENTED = {
    "Han": ("Han with Bopomofo", "Japanese", "Korean"),
    "Hiragana": ("Japanese",),
    "Katakana": ("Japanese",),
    "Hangul": ("Korean",),
    "Bopomofo": ("Han with Bopomofo",),
}


@functools.lru_cache(maxsize=8192)
def scripts_of(ch: str) -> frozenset[str] | None:
    """The character's Script_Extensions (long names, spaces for underscores); ``None`` for
    Common and Inherited characters, which go with any script."""
    if ch.isascii():
        return frozenset({"Latin"}) if ch.isalpha() else None
    if _ANY_SCRIPT.match(ch):
        return None
    found: set[str] = set()
    _collect(_scripts(), ch, found)
    return frozenset(found)


def _augmented(scripts: frozenset[str]) -> frozenset[str]:
    extra = {alias for script in scripts for alias in _AUGMENTED.get(script, ())}
    return scripts | extra


def mixed_scripts(text: str) -> list[tuple[str, str]] | None:
    """``None`` when ``text`` is Highly Restrictive (TS #39 section 5.2); otherwise, for the
    message, the first character of each script it mixes with its script(s), in order."""
    if text.isascii():
        return None
    sets = [(ch, s) for ch in text if (s := scripts_of(ch)) is not None]
    if not sets:
        return None
    resolved = frozenset.intersection(*(_augmented(s) for _, s in sets))
    if resolved:
        return None  # single script
    if any(all(s & combination for _, s in sets) for combination in _HAN_COMBINATIONS):
        return None
    seen: dict[frozenset[str], str] = {}
    for ch, s in sets:
        seen.setdefault(s, ch)
    return [(ch, "/".join(sorted(s)) or "no script") for s, ch in seen.items()]


def mixed_numbers(text: str) -> list[str] | None:
    """``None`` when the decimal digits of ``text`` (category Nd) come from one numbering
    system (TS #39 section 5.3); otherwise the first digit of each system, in order."""
    firsts: dict[int, str] = {}
    for ch in text:
        if unicodedata.category(ch) == "Nd":
            firsts.setdefault(ord(ch) - unicodedata.digit(ch), ch)
    return list(firsts.values()) if len(firsts) > 1 else None
