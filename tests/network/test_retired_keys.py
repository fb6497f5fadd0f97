"""A generation signs nothing dated after its retirement: each rotation records
when the old generation stopped signing, and an alert or thread item it signed
dated later than that (plus the clock-skew allowance) fails its integrity check
(design.md, "Shown means signed"; docs/crypto.md, "Retired generations")."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update

from network.alerts.integrity import CLOCK_SKEW
from network.alerts.models import Alert, ThreadItem
from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import Role, School, SchoolKeyGeneration
from tests.conftest import sign_in

VERIFIED = "✓ Signature verified"
RETIRED = "were retired"


def _posted(ash, beech, title="Signed while current") -> str:
    response = ash.post_alert([beech.school], title=title)
    assert response.status_code == 303
    return response.headers["Location"]


def _retire(app, school: School, generation: int, at: datetime) -> None:
    """What the hub's record says: this generation stopped signing ``at``."""
    with own_transaction(app) as session:
        session.execute(
            update(SchoolKeyGeneration)
            .where(
                SchoolKeyGeneration.school_id == school.id,
                SchoolKeyGeneration.generation == generation,
            )
            .values(retired_at=at)
        )


def _created_at(app, model, object_id) -> datetime:
    with own_transaction(app) as session:
        created: datetime = session.get(model, object_id).created_at
    return created


def test_a_rotation_records_when_the_old_generation_stopped_signing(app, world, ash, beech):
    page = _posted(ash, beech)
    leaver = world.person(Role.STAFF, "leaver@ash.example.org", school=ash.school)
    assert sign_in(ash.client, ash.person.email).status_code == 302
    assert ash.post(f"/school/members/{leaver.member.id}/remove", {}, page="/school").status_code
    with own_transaction(app) as session:
        retired = session.scalars(
            select(SchoolKeyGeneration.retired_at).where(
                SchoolKeyGeneration.school_id == ash.school.id,
                SchoolKeyGeneration.generation == 1,
            )
        ).one()
        current = session.scalars(
            select(SchoolKeyGeneration.retired_at).where(
                SchoolKeyGeneration.school_id == ash.school.id,
                SchoolKeyGeneration.generation == 2,
            )
        ).one()
        entry = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "school.keys_rotated",
                AuditEvent.school_id == ash.school.id,
            )
        ).one()
    assert retired is not None
    assert current is None
    assert entry.detail["retired_generation"] == 1
    assert datetime.fromisoformat(entry.detail["retired_at"]) == retired
    # Signed before the retirement: still verified.
    assert VERIFIED in beech.client.get(page).get_data(as_text=True)
    assert "Signed while current" in beech.client.get("/alerts").get_data(as_text=True)


def test_an_alert_dated_after_its_generations_retirement_is_refused(app, ash, beech):
    page = _posted(ash, beech)
    alert_id = uuid.UUID(page.rsplit("/", 1)[1])
    signed = _created_at(app, Alert, alert_id)
    _retire(app, ash.school, 1, signed - CLOCK_SKEW - timedelta(seconds=1))
    html = beech.client.get(page).get_data(as_text=True)
    assert RETIRED in html
    assert VERIFIED not in html
    assert "Signed while current" not in html
    inbox = beech.client.get("/alerts").get_data(as_text=True)
    assert "Failed its integrity check" in inbox
    assert "Signed while current" not in inbox
    with own_transaction(app) as session:
        assert session.scalars(
            select(AuditEvent).where(AuditEvent.action == "alert.integrity_failed")
        ).all()


def test_an_alert_dated_within_the_clock_skew_allowance_is_accepted(app, ash, beech):
    page = _posted(ash, beech)
    signed = _created_at(app, Alert, uuid.UUID(page.rsplit("/", 1)[1]))
    _retire(app, ash.school, 1, signed - CLOCK_SKEW + timedelta(seconds=1))
    html = beech.client.get(page).get_data(as_text=True)
    assert VERIFIED in html
    assert "Signed while current" in html


def test_a_reply_dated_after_its_authors_retirement_is_refused(app, ash, beech):
    page = _posted(ash, beech)
    response = beech.post(f"{page}/reply", {"text": "A late reply"}, page=page)
    assert response.status_code == 303
    with own_transaction(app) as session:
        reply = session.scalars(select(ThreadItem)).one()
        signed = reply.created_at
    _retire(app, beech.school, 1, signed - CLOCK_SKEW - timedelta(minutes=1))
    html = ash.client.get(page).get_data(as_text=True)
    assert RETIRED in html
    assert "A late reply" not in html
    # The alert itself, signed by Ash's current generation, still shows.
    assert "Signed while current" in html
