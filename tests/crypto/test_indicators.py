"""Indicator normalisation, their keyed hashes, and the correlation key's wraps."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import pytest

from crypto import indicators as ind
from crypto.errors import MalformedKey, UnwrapError
from crypto.keys import SchoolKeys


@pytest.mark.parametrize(
    "url",
    [
        "https://www.Facebook.example.com/groups/parents/?utm_source=share&utm_medium=x",
        "https://facebook.example.com/groups/parents?fbclid=IwAR0abc",
        "HTTPS://FACEBOOK.EXAMPLE.COM/groups/parents/#comments",
        "https://m.facebook.example.com/groups/parents?gclid=1&si=2&igshid=3",
        "https://facebook.example.com:443/groups/parents/",
    ],
)
def test_one_link_written_many_ways_normalises_to_one_indicator(url):
    normal = ind.normalise_link(url)
    assert normal == ind.Indicator(
        ind.IndicatorKind.LINK, "facebook.example.com", "facebook.example.com/groups/parents"
    )


def test_a_links_own_parameters_are_kept_in_order_and_its_path_keeps_its_case():
    a = ind.normalise_link("https://video.example.com/Watch?v=AbC&list=9&utm_campaign=z")
    b = ind.normalise_link("https://video.example.com/Watch?list=9&v=AbC")
    assert a == b
    assert a is not None
    assert a.value == "video.example.com/Watch?list=9&v=AbC"
    assert ind.normalise_link("https://video.example.com/Watch?v=other") != a


@pytest.mark.parametrize("url", ["https://:443/?utm_source=x", "https:///path", "not a url", ""])
def test_a_link_without_a_host_normalises_to_nothing(url):
    assert ind.normalise_link(url) is None


def test_handles_lose_their_at_and_case_and_keep_their_platform():
    one = ind.normalise_account("@Riverside_Gossip", "Facebook")
    assert one == ind.normalise_account("  riverside_gossip ", "facebook")
    assert one is not None
    assert one.label() == "@riverside_gossip on facebook"
    assert one != ind.normalise_account("@riverside_gossip", "tiktok")
    assert ind.normalise_account("@", "facebook") is None
    assert ind.normalise_account("  ", "facebook") is None


def test_group_names_fold_case_and_spacing():
    assert ind.normalise_group("Riverside  Parents\tChat", "facebook") == ind.normalise_group(
        "riverside parents chat", "facebook"
    )
    assert ind.normalise_group("   ", "facebook") is None


def test_kinds_never_collide_and_a_zero_byte_is_refused():
    key = ind.new_correlation_key()
    account = ind.normalise_account("name", "x")
    group = ind.normalise_group("name", "x")
    assert account is not None
    assert group is not None
    assert ind.indicator_hash(key, account) != ind.indicator_hash(key, group)
    with pytest.raises(ValueError, match="zero byte"):
        ind.Indicator(ind.IndicatorKind.GROUP, "x", "a\0b").canonical()


def test_the_hash_depends_on_the_key():
    link = ind.normalise_link("https://example.com/p/1")
    assert link is not None
    one, two = ind.new_correlation_key(), ind.new_correlation_key()
    assert ind.indicator_hash(one, link) == ind.indicator_hash(one, link)
    assert ind.indicator_hash(one, link) != ind.indicator_hash(two, link)
    assert len(ind.indicator_hash(one, link)) == ind.INDICATOR_HASH_LEN
    with pytest.raises(ValueError, match="32 bytes"):
        ind.indicator_hash(b"short", link)


def test_the_hash_is_the_documented_hmac_of_each_indicator_in_order():
    """``HMAC-SHA256(key, "alertnet/v1/indicator\\0" || kind \\0 platform \\0 value)``,
    written out here byte for byte: hashes stored by alerts posted before any
    change of how they are computed must still match."""
    key = bytes(range(32))
    normalised = [
        ind.normalise_account("@Name", "X"),
        ind.normalise_link("https://www.example.com/p/1/?utm_source=a&b=2#top"),
        ind.normalise_group("  Parents   Chat ", "x"),
    ]
    found = [i for i in normalised if i is not None]
    assert len(found) == 3
    written = [
        b"account\0x\0name",
        b"link\0example.com\0example.com/p/1?b=2",
        b"group\0x\0parents chat",
    ]
    expected = [
        hmac.new(key, b"alertnet/v1/indicator\0" + w, hashlib.sha256).digest() for w in written
    ]
    assert ind.indicator_hashes(key, found) == expected
    assert [ind.indicator_hash(key, i) for i in found] == expected
    assert ind.indicator_hashes(key, []) == []


def test_a_wrap_opens_only_for_its_school_cluster_and_generation():
    key = ind.new_correlation_key()
    cluster, school, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    keys = SchoolKeys.generate(3)
    blob = ind.wrap_correlation_key(key, cluster, 2, school, keys.public())
    assert ind.unwrap_correlation_key(blob, cluster, 2, school, keys) == key
    with pytest.raises(UnwrapError):
        ind.unwrap_correlation_key(blob, cluster, 2, other, keys)  # moved to another school
    with pytest.raises(UnwrapError):
        ind.unwrap_correlation_key(blob, cluster, 1, school, keys)  # another generation
    with pytest.raises(UnwrapError):
        ind.unwrap_correlation_key(blob, uuid.uuid4(), 2, school, keys)  # another cluster
    with pytest.raises(UnwrapError):
        ind.unwrap_correlation_key(blob, cluster, 2, school, SchoolKeys.generate(3))
    with pytest.raises(MalformedKey):
        ind.unwrap_correlation_key(blob[:100], cluster, 2, school, keys)
