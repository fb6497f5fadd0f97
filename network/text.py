"""Text the hub can store and seal.

PostgreSQL refuses NUL in text, and UTF-8 cannot encode a lone surrogate (a
JSON body's ``"\\ud800"`` decodes to one): either would fail deep inside a query
or a seal, as a 500. Every way text comes in asks here first, so the refusal
can name the field: the request guard (paths, query strings, forms;
network/security.py), the API's JSON fields (network/api/inputs.py) and the text
sealed into alerts, whatever its source (network/alerts/content.py).
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """What in ``value`` cannot be stored as text, worded to follow "must not
    contain"; None when it can be stored."""
    if "\x00" in value:
        return "NUL characters"
    if not value.isascii() and _SURROGATE.search(value):
        return "unpaired surrogates (\\ud800 to \\udfff), which are not text"
    return None


# Words that start with a vowel letter but a consonant sound, and the reverse.
_CONSONANT_SOUND = re.compile(r"(?i)^(uni|use|usu|uti|eu|one\b|once\b|u\b)")
_VOWEL_SOUND = re.compile(r"(?i)^(hour|honest|honour|heir|https?\b|[aefhilmnorsx]\b|[aeiou])")


def indefinite(word: str) -> str:
    """``word`` with "a" or "an" before it, by its sound: "an urgent alert",
    "a unique link", "an hour", "an SMS"-style single letters included."""
    text = word.strip()
    vowel = not _CONSONANT_SOUND.match(text) and _VOWEL_SOUND.match(text)
    article = "an" if vowel else "a"
    return f"{article} {text}"
