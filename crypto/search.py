"""A school's keyed word index: search its own copies without the hub reading them.

Each word of an alert's title and description, normalised, becomes

    token = HMAC-SHA256(K_search, "alertnet/v1/search-token\\0" || UTF-8(word))

with ``K_search = HKDF(bundle, "alertnet/v1/search\\0" || tier || 0x00 || u32 generation)``,
a key only holders of that bundle derive (as ``crypto/records.py`` derives
``K_read``). The hub stores tokens, never words; a query is normalised the
same way and its tokens computed in the request with the session's keys. The
hub sees which of one school's alerts share a token, and how many tokens each
holds; tokens of one word differ between schools and between generations.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

from crypto._encoding import hkdf_sha256, u32
from crypto.header import is_tier
from crypto.keys import SchoolKeys

_KEY_LABEL = b"alertnet/v1/search\0"
_TOKEN_LABEL = b"alertnet/v1/search-token\0"
TOKEN_LEN = 32
# Words shorter than this are not indexed (nor searched): "a", "I", "5".
MIN_WORD = 2
# Longer runs of letters are cut (a pasted link's path is not a word to find).
MAX_WORD = 64
# An alert's description is at most 10,000 characters; its distinct words are
# capped so one alert cannot write an unbounded number of rows.
MAX_TOKENS = 2_000
# Letters and digits of any script; everything else separates words.
_WORD = re.compile(r"[^\W_]+")


def search_key(keys: SchoolKeys, tier: str) -> bytes:
    """``K_search`` of one bundle (school, leadership or personal) at its generation."""
    if not is_tier(tier):
        raise ValueError(f"unknown tier {tier!r}")
    return hkdf_sha256(
        keys.to_bytes(), _KEY_LABEL + tier.encode("utf-8") + b"\0" + u32(keys.generation)
    )


def words(text: str) -> list[str]:
    """The distinct words of ``text`` in order of first appearance: NFKC,
    case-folded, accents removed (NFKD without combining marks), split at
    anything but letters and digits, at least MIN_WORD characters, at most
    MAX_WORD kept."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    # Accents are dropped, so "cafe" finds "café" (and "İstanbul" stays one word).
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    seen: dict[str, None] = {}
    for match in _WORD.finditer(folded):
        word = match.group()[:MAX_WORD]
        if len(word) >= MIN_WORD:
            seen.setdefault(word, None)
    return list(seen)


def word_token(key: bytes, word: str) -> bytes:
    """The token of one already normalised word (see ``words``)."""
    if len(key) != 32:
        raise ValueError("a search key is 32 bytes")
    return hmac.new(key, _TOKEN_LABEL + word.encode("utf-8"), hashlib.sha256).digest()


def text_tokens(key: bytes, *texts: str) -> list[bytes]:
    """The distinct tokens of the words of ``texts`` (at most MAX_TOKENS)."""
    seen: dict[str, None] = {}
    for text in texts:
        for word in words(text):
            seen.setdefault(word, None)
    return [word_token(key, word) for word in list(seen)[:MAX_TOKENS]]


__all__ = [
    "MAX_TOKENS",
    "MIN_WORD",
    "TOKEN_LEN",
    "search_key",
    "text_tokens",
    "word_token",
    "words",
]
