"""Grafana's slug for a title, as in dashboard URLs (/d/<uid>/<slug>, /d-solo/<uid>/<slug>).

Follows pkg/infra/slugify/slugify.go (grafana-http-api.md §1.4): trim, lower-case, replace or keep each
character, drop a few punctuation marks, hex-encode everything else; no collapsing of '-'. A slug that is
empty or longer than 50 bytes becomes a name-based SHA-1 UUID of the title.
Only the replacements for ASCII symbols and Latin letters are included; other scripts (Cyrillic, Hebrew,
Vietnamese) fall back to hex encoding here, where Grafana transliterates them.
"""

from __future__ import annotations

import uuid

MAX_SLUG_BYTES = 50
OMITTED = frozenset(",\"'\n\r\x00?.()")
REPLACEMENTS = {
    " ": "-",
    "&": "and",
    "@": "at",
    "©": "c",
    "®": "r",
    "™": "tm",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ĳ": "ij",
    "ü": "ue",
    "þ": "p",
    "\u017f": "z",  # long s
    **dict.fromkeys("àáâäåãāăąǎǻ", "a"),
    **dict.fromkeys("çćĉċč", "c"),
    **dict.fromkeys("ďđ", "d"),
    **dict.fromkeys("èéêëēĕėęěə", "e"),
    **dict.fromkeys("ĝğġģ", "g"),
    **dict.fromkeys("ĥħ", "h"),
    **dict.fromkeys("ìíîïĩīĭįıǐ", "i"),
    **dict.fromkeys("ĵ", "j"),
    **dict.fromkeys("ķĸ", "k"),
    **dict.fromkeys("ĺļľŀł", "l"),
    **dict.fromkeys("ńņňŉŋ", "n"),
    **dict.fromkeys("òóôõöøōŏőơǒǿ", "o"),
    **dict.fromkeys("ŕŗř", "r"),
    **dict.fromkeys("śŝşš", "s"),
    **dict.fromkeys("ţťŧ", "t"),
    **dict.fromkeys("ùúûũūŭůűųưǔǖǘǚǜ", "u"),
    **dict.fromkeys("ŵ", "w"),
    **dict.fromkeys("ýÿŷ", "y"),
    **dict.fromkeys("źżž", "z"),
    **dict.fromkeys("ƒ", "f"),
}


def _slug_char(char: str) -> str:
    if char in REPLACEMENTS:
        return REPLACEMENTS[char]
    if char.isascii() and (char.isdigit() or "a" <= char <= "z" or char in "_-"):
        return char
    if char in OMITTED:
        return ""
    return char.encode("utf-8").hex()


def slugify(title: str) -> str:
    slug = "".join(_slug_char(char) for char in title.strip().lower())
    if not slug or len(slug.encode("utf-8")) > MAX_SLUG_BYTES:
        return str(uuid.uuid5(uuid.NAMESPACE_OID, title))
    return slug
