"""The keyed word index (crypto/search.py)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from crypto._encoding import hkdf_sha256
from crypto.header import TIER_ALL, TIER_LEADERSHIP
from crypto.keys import SchoolKeys
from crypto.search import MAX_TOKENS, search_key, text_tokens, word_token, words


def test_words_are_folded_split_and_kept_once_in_order() -> None:
    assert words("Fake ACCOUNT posting: fake photos of Staff, ﬁrst-aid! a I 5") == [
        "fake",
        "account",
        "posting",
        "photos",
        "of",
        "staff",
        "first",
        "aid",
    ]


def test_words_of_other_scripts_and_digits_are_words_and_accents_are_ignored() -> None:
    assert words("Ärger in Klasse 7b — İstanbul 2026 café Ελλάδα") == [
        "arger",
        "in",
        "klasse",
        "7b",
        "istanbul",
        "2026",
        "cafe",
        "ελλαδα",
    ]


def test_the_search_key_follows_the_documented_derivation() -> None:
    keys = SchoolKeys.generate(7)
    expected = hkdf_sha256(keys.to_bytes(), b"alertnet/v1/search\0all\0\x00\x00\x00\x07")
    assert search_key(keys, TIER_ALL) == expected
    token = hmac.new(expected, b"alertnet/v1/search-token\0" + b"word", hashlib.sha256)
    assert word_token(expected, "word") == token.digest()


def test_tokens_differ_between_schools_tiers_and_generations() -> None:
    ash, beech = SchoolKeys.generate(1), SchoolKeys.generate(1)
    later = SchoolKeys.generate(2)
    keys = {
        search_key(ash, TIER_ALL),
        search_key(ash, TIER_LEADERSHIP),
        search_key(beech, TIER_ALL),
        search_key(later, TIER_ALL),
    }
    assert len({word_token(k, "harassment") for k in keys}) == 4


def test_one_word_gives_one_token_whatever_its_case_or_place() -> None:
    key = search_key(SchoolKeys.generate(1), TIER_ALL)
    title, description = text_tokens(key, "Harassment"), text_tokens(key, "no HARASSMENT.")
    assert title[0] in description
    assert len(text_tokens(key, "Harassment", "harassment again")) == 2


def test_an_unknown_tier_or_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown tier"):
        search_key(SchoolKeys.generate(1), "everyone")
    with pytest.raises(ValueError, match="32 bytes"):
        word_token(b"short", "word")


def test_an_alert_writes_at_most_max_tokens() -> None:
    key = search_key(SchoolKeys.generate(1), TIER_ALL)
    text = " ".join(f"w{i}" for i in range(MAX_TOKENS + 50))
    assert len(text_tokens(key, text)) == MAX_TOKENS
