"""Acknowledgement deadlines: when a copy falls due, and the creation-time
cutoff that turns "overdue now" into one comparison for the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from network.alerts.deadlines import Deadline
from network.alerts.school_calendar import SchoolCalendar
from schools.models import Nation
from tests.network.alerts_helpers import nov as _nov

LONDON = ZoneInfo("Europe/London")
# No terms or INSET days recorded, and no English bank holiday in these weeks.
ENGLAND = SchoolCalendar(Nation.ENGLAND_WALES)
MICROSECOND = timedelta(microseconds=1)


# --- the cutoff: the latest creation time already overdue -----------------------------------


@pytest.mark.parametrize(
    ("now", "amount", "cutoff"),
    [
        # One school day: Thursday's copies fall due on Friday; Friday's on Monday.
        (_nov(14, 10), 1, _nov(13, 0) - MICROSECOND),  # Saturday
        (_nov(15, 10), 1, _nov(13, 0) - MICROSECOND),  # Sunday
        (_nov(16, 0, 30), 1, _nov(13, 0, 30)),  # Monday, just after midnight
        (_nov(16, 10), 1, _nov(13, 10)),  # Monday
        (_nov(17, 10), 1, _nov(16, 10)),  # Tuesday
        (_nov(14, 10), 2, _nov(12, 0) - MICROSECOND),  # Saturday: Wednesday's are due
        (_nov(16, 10), 2, _nov(12, 10)),  # Monday, two school days: Thursday's
        # The clocks went forward on Sunday 29 March 2026: Friday 10:00 GMT
        # falls due on Monday 10:00 BST, which is 09:00 UTC.
        (datetime(2026, 3, 30, 9, tzinfo=UTC), 1, datetime(2026, 3, 27, 10, tzinfo=UTC)),
    ],
)
def test_school_day_cutoffs_skip_the_weekend(now, amount, cutoff):
    rule = Deadline(amount, "school_days")
    assert rule.latest_start(now, LONDON, ENGLAND) == cutoff
    assert (
        rule.due(cutoff, LONDON, ENGLAND) <= now < rule.due(cutoff + MICROSECOND, LONDON, ENGLAND)
    )


def test_hour_cutoffs_are_exact():
    assert Deadline(2, "hours").latest_start(_nov(14, 10), LONDON, ENGLAND) == _nov(14, 8)


def test_cutoffs_hold_at_every_hour_of_a_fortnight():
    for rule in (Deadline(1, "school_days"), Deadline(3, "school_days"), Deadline(5, "hours")):
        for step in range(0, 14 * 24 * 4):
            now = _nov(9, 0) + timedelta(minutes=15 * step, seconds=7)
            cutoff = rule.latest_start(now, LONDON, ENGLAND)
            assert (
                rule.due(cutoff, LONDON, ENGLAND)
                <= now
                < rule.due(cutoff + MICROSECOND, LONDON, ENGLAND)
            )


def test_no_deadline_has_no_cutoff():
    with pytest.raises(ValueError, match="no deadline"):
        Deadline(0, "hours").latest_start(_nov(14, 10), LONDON, ENGLAND)
