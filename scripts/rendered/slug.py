"""Grafana's slug for a title, as in dashboard URLs (/d/<uid>/<slug>, /d-solo/<uid>/<slug>).

A port of grafana/grafana: pkg/infra/slugify/slugify.go: trim, lower-case rune by rune, then per
rune use the replacement table, keep [a-z0-9_-], drop a few punctuation marks, or write its UTF-8 bytes as
Go's `%x` does (no zero padding: a tab becomes "9"); no collapsing of '-'. A slug that is empty or longer
than 50 bytes becomes a name-based SHA-1 UUID of the untrimmed title.
"""

from __future__ import annotations

import uuid

MAX_SLUG_BYTES = 50
OMITTED = frozenset(",\"'\n\r\x00?.()")
NOT_GO_SPACE = frozenset("\x1c\x1d\x1e\x1f")  # Python calls these whitespace; Go's TrimSpace keeps them
# Grafana's replacement table. Its upper-case keys (Æ, Б, ...) are left out: it lower-cases before looking up.
REPLACEMENTS = {
    " ": "-",
    "&": "and",
    "@": "at",
    "©": "c",
    "®": "r",
    "™": "tm",
    "ß": "ss",
    "æ": "ae",
    "ǽ": "ae",
    "œ": "oe",
    "ĳ": "ij",
    "ü": "ue",
    "þ": "p",
    "\u017f": "z",  # long s
    "ж": "zh",
    "ч": "ch",
    "ш": "sh",
    "щ": "sch",
    "ъ": "-",
    "ь": "-",
    "э": "je",
    "ю": "ju",
    "я": "ja",
    "ё": "jo",
    "ץ": "C",
    **dict.fromkeys("àáâäåāăąǎǻảãạắằẳẵặấầẩẫậаא", "a"),
    **dict.fromkeys("бב", "b"),
    **dict.fromkeys("çćĉċčцצ", "c"),
    **dict.fromkeys("ďđдד", "d"),
    **dict.fromkeys("èéêëēĕėęěəẻẽẹếềểễệеєע", "e"),
    **dict.fromkeys("фƒ", "f"),
    **dict.fromkeys("ĝğġģгґג", "g"),
    **dict.fromkeys("ĥħхהח", "h"),
    **dict.fromkeys("ìíîïĩīĭįıǐỉịиіїי", "i"),
    **dict.fromkeys("ĵй", "j"),
    **dict.fromkeys("ķĸкךכ", "k"),
    **dict.fromkeys("ĺļľŀłлל", "l"),
    **dict.fromkeys("мםמ", "m"),
    **dict.fromkeys("ńņňŉŋнןנ", "n"),
    **dict.fromkeys("òóôõöøōŏőơǒǿỏọốồổỗộớờởỡợо", "o"),
    **dict.fromkeys("пףפ", "p"),
    **dict.fromkeys("ק", "q"),
    **dict.fromkeys("ŕŗřрר", "r"),
    **dict.fromkeys("śŝşšсס", "s"),
    **dict.fromkeys("ţťŧтטת", "t"),
    **dict.fromkeys("ùúûũūŭůűųưǔǖǘǚǜủụứừửữựу", "u"),
    **dict.fromkeys("вו", "v"),
    **dict.fromkeys("ŵש", "w"),
    **dict.fromkeys("ýÿŷỳỷỹỵы", "y"),
    **dict.fromkeys("źżžзז", "z"),
}


def _go_lower(char: str) -> str:
    """Go's unicode.ToLower: one rune to one rune (Python's 'İ'.lower() would give two)."""
    return char.lower()[0]


def _go_trim_space(text: str) -> str:
    start, end = 0, len(text)
    while start < end and text[start].isspace() and text[start] not in NOT_GO_SPACE:
        start += 1
    while end > start and text[end - 1].isspace() and text[end - 1] not in NOT_GO_SPACE:
        end -= 1
    return text[start:end]


def _slug_char(char: str) -> str:
    if char in REPLACEMENTS:
        return REPLACEMENTS[char]
    if char.isascii() and (char.isdigit() or "a" <= char <= "z" or char in "_-"):
        return char
    if char in OMITTED:
        return ""
    return "".join(format(byte, "x") for byte in char.encode("utf-8"))


def slugify(title: str) -> str:
    slug = "".join(_slug_char(_go_lower(char)) for char in _go_trim_space(title))
    if not slug or len(slug.encode("utf-8")) > MAX_SLUG_BYTES:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, title))
    return slug
