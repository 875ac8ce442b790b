# ruff: noqa: RUF003 - the comments show the look-alike characters the escapes stand for
"""app.names: the name everyone sees (NFKC, invisible and direction characters refused) and the key that
decides whether a name is taken (look-alikes folded). The escapes in the cases say which code point is
meant, since a reader cannot tell them apart."""

from __future__ import annotations

import unicodedata

import pytest

from app.names import MAX_COMBINING_MARKS, name_key, normalize_name

TAKEN = "canary"

LOOK_ALIKES = {
    "fullwidth": "\uff43\uff41\uff4e\uff41\uff52\uff59",  # ｃａｎａｒｙ
    "mathematical bold": "\U0001d41c\U0001d41a\U0001d427\U0001d41a\U0001d42b\U0001d432",
    "Cyrillic es and a": "\u0441\u0430nary",  # саnary
    "Cyrillic a twice and u": "c\u0430n\u0430r\u0443",  # cаnаrу
    "Greek alpha": "c\u03b1nary",  # cαnary
    "capitals": "CANARY",
    "mixed case": "CaNaRy",
    "Cyrillic capitals": "\u0421\u0410NARY",  # САNARY
    "Greek capitals": "C\u0391N\u0391RY",  # CΑNΑRY
    "fullwidth capitals": "\uff23\uff21\uff2e\uff21\uff32\uff39",
    "surrounding spaces": "  canary\u3000",  # ideographic space folds to a space, then stripped
}

REFUSED = {
    "zero-width joiner": "can\u200dary",
    "zero-width non-joiner": "can\u200cary",
    "zero-width space": "ca\u200bnary",
    "word joiner": "canary\u2060",
    "right-to-left override": "\u202eyranac",
    "left-to-right override": "\u202dcanary",
    "right-to-left embedding": "\u202bcanary\u202c",
    "first strong isolate": "\u2068canary\u2069",
    "right-to-left mark": "canary\u200f",
    "arabic letter mark": "\u061ccanary",
    "soft hyphen": "can\u00adary",
    "byte order mark": "\ufeffcanary",
    "tag characters": "canary\U000e0041",
    "variation selector": "canary\ufe0f",
    "Hangul filler": "canary\u3164",
    "combining grapheme joiner": "can\u034fary",
    "newline": "can\nary",
    "tab": "can\tary",
    "NUL": "canary\x00",
    "C1 control": "can\x85ary",
    "line separator": "can\u2028ary",
    "private use": "canary\ue000",
    "lone surrogate": "canary\ud800",
    "unassigned": "canary\U000e0fff",
    "only spaces": "   ",
    "empty": "",
}


@pytest.mark.parametrize("raw", LOOK_ALIKES.values(), ids=LOOK_ALIKES.keys())
def test_look_alikes_of_a_taken_name_have_its_key(raw: str) -> None:
    assert raw != TAKEN
    assert name_key(normalize_name(raw)) == name_key(TAKEN)


def test_nfkc_folds_compatibility_forms_into_the_name_shown() -> None:
    assert normalize_name(LOOK_ALIKES["fullwidth"]) == "canary"
    assert normalize_name(LOOK_ALIKES["mathematical bold"]) == "canary"
    assert normalize_name("\ufb01ona") == "fiona"  # the ﬁ ligature
    assert normalize_name("  bob  ") == "bob"


def test_nfkc_keeps_what_people_really_write() -> None:
    for name in ("José", "Zoë", "Ålesund", "Łukasz", "Дмитрий", "Αλέξανδρος", "李小龍", "نور", "a b"):
        assert normalize_name(name) == unicodedata.normalize("NFKC", name)


def test_composed_and_decomposed_accents_are_one_name() -> None:
    composed, decomposed = "Jos\u00e9", "Jose\u0301"
    assert normalize_name(decomposed) == composed
    assert name_key(composed) == name_key(decomposed)


@pytest.mark.parametrize("raw", REFUSED.values(), ids=REFUSED.keys())
def test_invisible_and_direction_characters_are_refused_with_a_one_line_reason(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^the name ") as refused:
        normalize_name(raw)
    reason = str(refused.value)
    assert "\n" not in reason and len(reason) < 200
    invisible = [char for char in raw if unicodedata.category(char)[0] in "CZ" and char != " "]
    if invisible and raw.strip():
        assert f"U+{ord(invisible[0]):04X}" in reason, "the reason names the offending code point"


def test_the_reason_names_the_right_to_left_override() -> None:
    with pytest.raises(ValueError) as refused:
        normalize_name(REFUSED["right-to-left override"])
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in str(refused.value)
    assert "direction" in str(refused.value)


def test_stacked_combining_marks_are_refused_but_an_accent_is_not() -> None:
    assert normalize_name("e\u0301") == "\u00e9"
    assert normalize_name("a" + "\u0301\u0302" * 1)  # two marks on one letter (no precomposed form)
    with pytest.raises(ValueError, match="combining marks"):
        normalize_name("a" + "\u0301\u0302\u0303" + "\u0304" * (MAX_COMBINING_MARKS + 5))


def test_different_names_keep_different_keys() -> None:
    names = ("canary", "canaries", "cannary", "kanary", "canard", "bob", "bab", "alice", "Дмитрий", "李小龍")
    keys = [name_key(normalize_name(name)) for name in names]
    assert len(set(keys)) == len(names)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("rn", "m"),  # TR39: "m" is confusable with "rn"
        ("l", "I"),
        ("l", "1"),
        ("O", "0"),
        ("paypal", "PAYPAL"),
        ("paypal", "\u0440\u0430ypal"),  # Cyrillic er, a
        ("Boris", "\u0412oris"),  # Cyrillic capital ve
        ("Hans", "\u041dans"),  # Cyrillic capital en
        ("Tom", "\u0422om"),  # Cyrillic capital te
        ("Nick", "\u039dick"),  # Greek capital nu
    ],
)
def test_tr39_confusables_share_a_key(one: str, other: str) -> None:
    assert name_key(normalize_name(one)) == name_key(normalize_name(other))


@pytest.mark.parametrize("raw", [*LOOK_ALIKES.values(), "Boris", "mmm", "I1l|", "Straße", "ΣΊΣΥΦΟΣ"])
def test_the_key_is_stable(raw: str) -> None:
    key = name_key(normalize_name(raw))
    assert name_key(key) == key


def test_casefold_not_lower() -> None:
    """German sharp s: casefold makes "Straße" and "STRASSE" one name, lower() would not."""
    assert name_key("Straße") == name_key("STRASSE")
