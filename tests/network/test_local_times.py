"""Times people read are in the hub's zone, with its name: GMT in winter, BST
in summer for Europe/London, whatever zone ALERTNET_TIME_ZONE names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from network.clock import shown
from network.db import own_transaction
from network.notifications import render
from network.settings import Settings
from tests.conftest import World, hub
from tests.network.alerts_helpers import make_head, post_as

LONDON = ZoneInfo("Europe/London")

# British Summer Time ends at 01:00 UTC on Sunday 25 October 2026.
BEFORE_CHANGE = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
AFTER_CHANGE = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (BEFORE_CHANGE, "25 Oct 2026, 01:30 BST"),
        (AFTER_CHANGE, "25 Oct 2026, 01:30 GMT"),
        # It starts at 01:00 UTC on Sunday 29 March 2026.
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29 Mar 2026, 00:59 GMT"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29 Mar 2026, 02:00 BST"),
    ],
)
def test_a_time_is_shown_in_london_with_its_zone_across_the_change(moment, expected) -> None:
    assert shown(moment, LONDON) == expected


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        shown(datetime(2026, 10, 25, 1, 30), LONDON)


def test_the_time_zone_is_read_from_the_environment_and_checked(tmp_path: Path) -> None:
    base = {"ALERTNET_INSTANCE": str(tmp_path)}
    assert Settings.from_env(base).timezone == "Europe/London"
    chosen = Settings.from_env({**base, "ALERTNET_TIME_ZONE": "America/New_York"})
    assert chosen.timezone == "America/New_York"
    earlier = Settings.from_env({**base, "ALERTNET_TIMEZONE": "Europe/Dublin"})
    assert earlier.timezone == "Europe/Dublin"
    with pytest.raises(ValueError, match="ALERTNET_TIME_ZONE must be an IANA time zone"):
        Settings.from_env({**base, "ALERTNET_TIME_ZONE": "Mars/Olympus"})


def _times(html: str) -> list[str]:
    return re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", html)


def test_pages_show_times_in_the_hub_zone_on_both_sides_of_the_change(app, world) -> None:
    """Two alerts an hour apart in UTC, either side of the end of summer time:
    the inbox, the alert page and the audit log say BST for one, GMT for the other."""
    cluster = world.cluster()
    ash = make_head(app, world, cluster, "Ash")
    elm = make_head(app, world, cluster, "Elm")
    with own_transaction(app) as session:
        summer = post_as(session, ash.person.email, [elm.school.id], BEFORE_CHANGE)
        winter = post_as(session, ash.person.email, [elm.school.id], AFTER_CHANGE)
    inbox = elm.client.get("/alerts").get_data(as_text=True)
    assert "25 Oct 2026, 01:30 BST" in _times(inbox)
    assert "25 Oct 2026, 01:30 GMT" in _times(inbox)
    assert '<time datetime="2026-10-25T00:30:00Z">' in inbox
    page = elm.client.get(f"/alerts/{summer.id}").get_data(as_text=True)
    assert "25 Oct 2026, 01:30 BST" in _times(page)
    page = elm.client.get(f"/alerts/{winter.id}").get_data(as_text=True)
    assert "25 Oct 2026, 01:30 GMT" in _times(page)
    log = ash.client.get("/audit").get_data(as_text=True)
    clock_times = [t for t in _times(log) if ":" in t]
    assert clock_times
    assert all(re.search(r" (GMT|BST)$", t) for t in clock_times), clock_times


def test_another_zone_is_shown_with_its_own_name(database_url: str, tmp_path: Path) -> None:
    with hub(database_url, tmp_path, timezone="America/New_York") as app:
        here = World(app)
        cluster = here.cluster()
        ash = make_head(app, here, cluster, "Ash")
        elm = make_head(app, here, cluster, "Elm")
        with own_transaction(app) as session:
            post_as(session, ash.person.email, [elm.school.id], AFTER_CHANGE)
        inbox = elm.client.get("/alerts").get_data(as_text=True)
        assert "24 Oct 2026, 21:30 EDT" in _times(inbox)


def test_emails_give_the_time_with_its_zone() -> None:
    ref = {
        "id": "1",
        "category": "harassment",
        "category_label": "Harassment",
        "severity": "high",
        "severity_label": "High",
        "platform": "tiktok",
        "platform_label": "TikTok",
        "sender_school": {"id": "1", "name": "Ash"},
        "created_at": AFTER_CHANGE.isoformat(),
        "path": "/alerts/1",
    }
    payload = {"type": "alert.received", "alert": ref, "school": {"id": "2", "name": "Elm"}}
    rendered = render.describe(payload, "https://hub.example.org", LONDON)  # type: ignore[arg-type]
    assert ("Posted", "Sun 25 Oct 2026, 01:30 GMT") in rendered.facts
    ref["created_at"] = BEFORE_CHANGE.isoformat()
    rendered = render.describe(payload, "https://hub.example.org", LONDON)  # type: ignore[arg-type]
    assert ("Posted", "Sun 25 Oct 2026, 01:30 BST") in rendered.facts
