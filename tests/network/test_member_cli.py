"""`alertnet member set EMAIL --role ...` (issue 16): the members page's role
change at the command line, through the same service. The operator holds
nobody's keys, so taking someone out of the leadership (which moves its keys
on) needs a head's password (--as)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from network.cli import main
from network.db import own_transaction
from schools.audit.models import AuditEvent
from schools.models import LeadershipWrap, Role, School
from tests.conftest import PASSWORD, sign_in
from tests.network.api_helpers import member_named

SET_STAFF = ("member", "set", "sam@ash.example.org", "--role", "staff")


def _role_changes(app) -> list[AuditEvent]:
    with own_transaction(app) as session:
        rows = list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "member.role_changed")
                .order_by(AuditEvent.seq)
            )
        )
        session.expunge_all()
        return rows


@pytest.mark.heads("Ash")
def test_the_operator_promotes_and_a_head_demotes_at_the_command_line(app, world, runner, heads):
    ash = heads["Ash"]
    world.person(Role.STAFF, "sam@ash.example.org", school=ash.school, name="Sam Staff")
    assert sign_in(ash.client, ash.person.email).status_code == 302  # confirms Sam
    promoted = runner.invoke(main, args=["member", "set", "sam@ash.example.org", "--role", "dsl"])
    assert promoted.exit_code == 0, promoted.output
    assert promoted.output == (
        "Sam Staff (Ash) is now designated safeguarding lead.\n"
        "They receive the leadership keys when a colleague in the leadership next signs in.\n"
    )
    [first] = _role_changes(app)
    assert (first.actor_id, first.detail["role_after"]) == (None, "dsl")
    # Back out of the leadership: the leadership keys must move on, which the
    # operator cannot do alone. Nothing is written.
    refused = runner.invoke(main, args=["member", "set", "sam@ash.example.org", "--role", "staff"])
    assert refused.exit_code == 2
    assert "Add --as with the email of a head of the school" in refused.output
    assert member_named(app, "sam@ash.example.org").role == "dsl"
    assert len(_role_changes(app)) == 1
    wrong = runner.invoke(
        main,
        args=[*SET_STAFF, "--as", ash.person.email, "--password-stdin"],
        input="not the password\n",
    )
    assert wrong.exit_code == 2
    assert member_named(app, "sam@ash.example.org").role == "dsl"
    # The head's password unlocks the keys: the change is theirs, and the keys move on.
    assert sign_in(ash.client, ash.person.email).status_code == 302  # Sam gets a wrap
    demoted = runner.invoke(
        main,
        args=[*SET_STAFF, "--may-post", "--as", ash.person.email, "--password-stdin"],
        input=PASSWORD + "\n",
    )
    assert demoted.exit_code == 0, demoted.output
    assert demoted.output == (
        "Sam Staff (Ash) is now staff.\n"
        "Ash's leadership keys moved on without them; its leadership signs in again.\n"
        "Sam Staff (Ash) may now post alerts.\n"
    )
    sam = member_named(app, "sam@ash.example.org")
    assert (sam.role, sam.may_post) == ("staff", True)
    second = _role_changes(app)[-1]
    assert second.actor_id == ash.person.member.id
    with own_transaction(app) as session:
        school = session.get(School, ash.school.id)
        assert school.leadership_generation == 2
        assert (
            session.scalars(
                select(LeadershipWrap).where(LeadershipWrap.credential_id == sam.id)
            ).all()
            == []
        )


@pytest.mark.heads("Ash")
def test_a_role_the_school_does_not_have_is_refused(app, world, runner, heads):
    ash = heads["Ash"]
    world.person(Role.STAFF, "sam@ash.example.org", school=ash.school, name="Sam Staff")
    bad = runner.invoke(
        main, args=["member", "set", "sam@ash.example.org", "--role", "coordinator"]
    )
    assert bad.exit_code == 2
    assert "'coordinator' is not one of" in bad.output
    stdin_alone = runner.invoke(
        main, args=["member", "set", "sam@ash.example.org", "--role", "dsl", "--password-stdin"]
    )
    assert stdin_alone.exit_code == 2
    assert "--as" in stdin_alone.output
    assert _role_changes(app) == []
