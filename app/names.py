# ruff: noqa: RUF001, RUF002, RUF003 - this module is about look-alike characters: they are the point here
"""Names people can trust: what a chat name may contain, and the key that decides whether it is taken.

`normalize_name` turns what a client typed into the name shown to everyone: NFKC (fullwidth "ｃａｎａｒｙ" and
mathematical "𝐜𝐚𝐧𝐚𝐫𝐲" become "canary"), surrounding whitespace stripped, and refuses, with a one-line
reason, every character a reader cannot see or that changes the text's direction: control and format
characters (Cc, Cf: zero-width space and joiners, LRM/RLM, the bidi embeddings, overrides and isolates,
soft hyphen, BOM), the other default-ignorable code points (variation selectors, Hangul fillers, the
combining grapheme joiner), surrogates, private-use and unassigned code points, line/paragraph separators,
and stacks of combining marks (more than MAX_COMBINING_MARKS on one letter).

`name_key` is what uniqueness compares: the Unicode TR39 skeleton (decompose, replace each character by the
prototype it is confusable with, decompose again; NFKD rather than TR39's NFD, so the key folds what NFKC
folds even for a name that skipped `normalize_name`), then casefold. "саnary" with Cyrillic а, "CANARY",
"cαnary" with Greek alpha and "canarу" with Cyrillic у all have the key of "canary", so once "canary" is
taken none of them can join.

Why a table of our own and not a PyPI package: TR39's confusables.txt has ~6,000 mappings, but the
packages that ship it do other jobs: confusable-homoglyphs answers "is this string mixed-script
confusable?" (no skeleton, no key to compare), confusables (last release 2021) returns the set of
candidate readings, not one key. What a chat name needs is a key, and the look-alikes that matter for
Latin names are the Latin/Cyrillic/Greek ones below (the mappings are those of confusables.txt), plus what
NFKC already folds (fullwidth, mathematical, ligatures, superscripts).
"""

from __future__ import annotations

import unicodedata

MAX_COMBINING_MARKS = 2  # "é" written as e + U+0301 needs one; "Zalgo" text piles up dozens

# Default_Ignorable_Code_Point characters that are not Cf (Cf is refused by category): invisible letters
# and marks that render as nothing.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180B, 0x180C, 0x180D, 0x180F, 0x2800, 0x3164, 0xFFA0}
    | set(range(0xFE00, 0xFE10))  # variation selectors
    | set(range(0xE0100, 0xE01F0))  # variation selectors supplement
)
_REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting or text-direction character",
    "Cs": "a lone surrogate",
    "Co": "a private-use character",
    "Cn": "an unassigned code point",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}

# TR39 confusables.txt prototypes for the look-alikes of Latin letters and digits that matter in names:
# character -> what it is confusable with. Case-sensitive, as TR39 is (Cyrillic "В" looks like "B", its
# lower case "в" like nothing Latin); `name_key` casefolds after mapping.
_PROTOTYPES: dict[str, str] = {
    # Latin and digits among themselves
    "0": "O", "1": "l", "I": "l", "|": "l", "ǀ": "l", "m": "rn",
    "ɑ": "a", "ɡ": "g", "ı": "i", "ȷ": "j", "ɩ": "i", "ʋ": "u", "ꭓ": "x",
    # Cyrillic capitals
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T",
    "Х": "X", "У": "Y", "Ү": "Y", "Ѕ": "S", "І": "l", "Ӏ": "l", "Ј": "J", "Ԛ": "Q", "Ԝ": "W",
    # Cyrillic small letters
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j",
    "ԁ": "d", "һ": "h", "ӏ": "l", "ԛ": "q", "ԝ": "w", "ү": "y", "ѵ": "v", "ꙇ": "i",
    # Greek capitals
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "l", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O",
    "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "Ϲ": "C", "Ϳ": "J",
    # Greek small letters
    "α": "a", "ο": "o", "ρ": "p", "ν": "v", "ι": "i", "υ": "u", "γ": "y", "κ": "k", "χ": "x", "ϲ": "c",
    "ϳ": "j", "ε": "e", "τ": "t", "ω": "w",
}  # fmt: skip
_PROTOTYPE_TABLE = str.maketrans(_PROTOTYPES)


def normalize_name(raw: str) -> str:
    """The name as shown to everyone (NFKC, stripped); ValueError with a one-line reason if it cannot be."""
    name = unicodedata.normalize("NFKC", raw).strip()
    if not name:
        raise ValueError("the name is empty")
    marks = 0
    for char in name:
        category = unicodedata.category(char)
        refused = _REFUSED_CATEGORIES.get(category) or (
            "an invisible character" if ord(char) in _INVISIBLE else None
        )
        if refused:
            raise ValueError(f"the name contains {refused} ({_describe(char)})")
        marks = marks + 1 if category.startswith("M") else 0
        if marks > MAX_COMBINING_MARKS:
            raise ValueError(f"the name stacks more than {MAX_COMBINING_MARKS} combining marks on a letter")
    return name


def name_key(name: str) -> str:
    """The key uniqueness compares: TR39-style skeleton (confusables folded), then casefolded."""
    skeleton = unicodedata.normalize("NFKD", name).translate(_PROTOTYPE_TABLE)
    folded = unicodedata.normalize("NFKD", skeleton).casefold()
    # Casefolding can make a mapped character of an unmapped one ("M" folds to "m", which maps to "rn"),
    # so map once more: the key is then stable (name_key(name_key(x)) == name_key(x)).
    return unicodedata.normalize("NFKD", folded.translate(_PROTOTYPE_TABLE)).casefold()


def _describe(char: str) -> str:
    return f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"
