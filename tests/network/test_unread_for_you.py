"""Unread means unread by you (issue 17): the inbox's "Unread" filter and the
count beside Inbox list the same alerts, those the member has not opened or
has marked unread; a colleague's reading changes neither."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.network.alerts_helpers import ALERT_LINK, colleague_of

pytestmark = pytest.mark.heads("Ash", "Beech")


def _id(response) -> str:
    return str(response.headers["Location"].rsplit("/", 1)[1])


def _count(html: str) -> int:
    found = re.search(
        r'<span class="count">(\d+)<span class="visually-hidden"> unread by you', html
    )
    return int(found.group(1)) if found else 0


def _unread(client) -> tuple[set[str], int]:
    """The alerts the Unread filter lists, and the count beside Inbox on that page."""
    html = client.get("/alerts?status=unread").get_data(as_text=True)
    return set(ALERT_LINK.findall(html)), _count(html)


def test_the_unread_filter_and_the_count_agree_for_each_member(app, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    dsl = colleague_of(app, beech, "dsl", "dsl@beech.example.org")
    first = _id(ash.post_alert([beech.school], title="Fake account"))
    second = _id(ash.post_alert([beech.school], title="Threats online"))
    assert _unread(beech.client) == ({first, second}, 2)
    assert _unread(dsl) == ({first, second}, 2)

    # The head opens one: read for the head, still unread for the DSL.
    beech.client.get(f"/alerts/{first}")
    assert _unread(beech.client) == ({second}, 1)
    assert _unread(dsl) == ({first, second}, 2)

    # The head marks it unread again: the filter lists it and the count has it.
    beech.post(f"/alerts/{first}/unread", {}, page="/alerts")
    assert _unread(beech.client) == ({first, second}, 2)

    # Acknowledging counts as reading for the one who acknowledges.
    beech.post("/alerts/acknowledge", {"alert_ids": [second]}, page="/alerts")
    assert _unread(beech.client) == ({first}, 1)
    assert _unread(dsl) == ({first, second}, 2)

    # The DSL opens both; the head's mark is the head's alone.
    for alert_id in (first, second):
        dsl.get(f"/alerts/{alert_id}")
    assert _unread(dsl) == (set(), 0)
    assert _unread(beech.client) == ({first}, 1)
    assert beech.client.get("/notifications/unread.json").get_json()["unread"] == 1


def test_the_inbox_says_what_unread_means(heads):
    page = heads["Beech"].client.get("/alerts").get_data(as_text=True)
    assert '<option value="unread">Unread by you</option>' in page
    assert "Unread by you: alerts you have not opened yourself, or have marked unread." in page
    assert "the number beside Inbox counts the same alerts" in page


def test_the_count_equals_its_definition_at_every_tier_withdrawal_read_and_mark(app, heads):
    """The count beside Inbox is summed from the member's own rows (names,
    withdrawals, reads) around an index count of their tiers' copies
    (inbox.unread_count); it must equal counting every copy the member would
    see listed and has not read (inbox.unread_listed), for every mix of tier,
    naming, withdrawal, reading and marking."""
    from itertools import product

    from sqlalchemy import select, update

    from network.alerts.home_models import MemberRead, UnreadMark
    from network.alerts.inbox import unread_count, unread_listed
    from network.alerts.models import AlertRecipient, ThreadExclusion
    from network.alerts.named_models import NamedReader
    from network.db import own_transaction
    from schools.models import Member

    ash, beech = heads["Ash"], heads["Beech"]
    colleague_of(app, beech, "dsl", "dsl@beech.example.org")
    colleague_of(app, beech, "staff", "staff@beech.example.org")
    # Every mix for one member: tier x named x withdrawn x read x marked.
    mixes = list(product(("all", "leadership", "named"), *[(False, True)] * 4))
    ids = [
        uuid.UUID(_id(ash.post_alert([beech.school], title=f"Alert {n}")))
        for n in range(len(mixes))
    ]
    with own_transaction(app) as session:
        members = list(session.scalars(select(Member).where(Member.school_id == beech.school.id)))
        by_role = {m.role: m for m in members}
        assert set(by_role) == {"head", "dsl", "staff"}
        for alert_id, (tier, named, withdrawn, read, marked) in zip(ids, mixes, strict=True):
            session.execute(
                update(AlertRecipient)
                .where(
                    AlertRecipient.alert_id == alert_id,
                    AlertRecipient.school_id == beech.school.id,
                )
                .values(tier=tier)
            )
            # Each flag for a different member too, so members' rows never cross.
            for member in members:
                row = {"member_id": member.id, "alert_id": alert_id}
                if named:
                    session.add(NamedReader(**row, school_id=beech.school.id, generation=1))
                if withdrawn:
                    session.add(
                        ThreadExclusion(
                            **row, school_id=beech.school.id, excluded_by_id=by_role["head"].id
                        )
                    )
                if read:
                    session.add(MemberRead(**row))
                if marked:
                    session.add(UnreadMark(**row))
        session.flush()
        counts = {
            m.role: (
                unread_count(session, beech.school.id, m),
                unread_listed(session, beech.school.id, m),
            )
            for m in members
        }
        counts["nobody"] = (
            unread_count(session, beech.school.id),
            unread_listed(session, beech.school.id),
        )
    for role, (summed, listed) in counts.items():
        assert summed == listed, role
    # Staff see only the all-staff and named copies; leadership the leadership ones too.
    assert counts["head"][0] > counts["staff"][0] > 0
