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
