"""The named people tier (issue 16): an alert sealed, at a recipient school,
only to the members the sender names, each through their own personal key
bundle. A leadership colleague who is not named and a member of staff open
nothing of it (page, inbox, count, notifications, their session's keys,
their password's credential); the named member reads it, and still does
after changing their password, while the old credential opens nothing sealed
after."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from crypto import custody
from crypto.errors import CryptoError
from crypto.keys import CredentialKey, SchoolKeys
from network.alerts import inbox
from network.alerts.models import (
    Alert,
    AlertRecipient,
    ReadRecord,
    SealedWrap,
    SearchEntry,
    ThreadItem,
)
from network.alerts.named_models import NamedReader
from network.db import own_transaction
from schools import personal
from schools.models import Role
from schools.personal_models import PersonalKeyGeneration, PersonalWrap
from tests.conftest import PASSWORD, csrf_token, sign_in
from tests.network import tier_helpers
from tests.network.api_helpers import alert_body, api_for, assert_problem

CANARY = "CANARY-named-only-5c1d"
NEW_PASSWORD = "a different long passphrase 7"


def _bundles_of(keys: SchoolKeys | None) -> list[SchoolKeys]:
    """Every bundle ``keys`` carry: the school's, leadership's, personal."""
    if keys is None:
        return []
    found = [keys]
    if getattr(keys, "leadership", None) is not None:
        found.append(keys.leadership)  # type: ignore[attr-defined]
    if (held := personal.personal_of(keys)) is not None:
        found.append(held[1])
    return found


def _personal_wraps_open(app, credential: CredentialKey) -> list[uuid.UUID]:
    """Whose personal bundles this credential opens, trying every wrap."""
    opened = []
    with own_transaction(app) as session:
        for row in session.scalars(select(PersonalWrap)).all():
            try:
                custody.unwrap_with_credential(
                    row.wrap,
                    credential,
                    personal.wrap_context(
                        row.member_id, row.generation, row.credential_kind, row.credential_id
                    ),
                )
            except CryptoError:
                continue
            opened.append(row.member_id)
    return opened


def _post_named(api, school, named: list[str], title: str = CANARY):
    return api.post("/api/v1/alerts", alert_body([school], title=title, tier="named", named=named))


def _change_password(client) -> None:
    response = client.post(
        "/account",
        data={
            "csrf_token": csrf_token(client, "/account"),
            "current": PASSWORD,
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


@pytest.mark.heads("Ash", "Beech")
def test_only_the_named_member_opens_sees_and_hears_a_named_alert(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    colleague, colleague_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl2@beech.example.org"
    )
    staff, staff_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    for client in (named_client, colleague_client, staff_client, beech.client):
        tier_helpers.subscribe_by_email(client)
    api = api_for(app, ash.person.email)
    response = _post_named(api, beech.school, [str(named.member.id)])
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    alert_id = response.get_json()["id"]
    with own_transaction(app) as session:
        copies = dict(
            session.execute(
                select(AlertRecipient.school_id, AlertRecipient.tier).where(
                    AlertRecipient.alert_id == uuid.UUID(alert_id)
                )
            ).all()
        )
        wraps = session.execute(
            select(SealedWrap.school_id, SealedWrap.tier)
            .join(Alert, Alert.sealed_id == SealedWrap.sealed_id)
            .where(Alert.id == uuid.UUID(alert_id))
        ).all()
        readers = set(
            session.scalars(
                select(NamedReader.member_id).where(NamedReader.alert_id == uuid.UUID(alert_id))
            )
        )
    assert copies == {ash.school.id: "named", beech.school.id: "named"}
    # One wrap per named person: Beech's named DSL, and Ash's head (the sender).
    assert sorted(wraps) == sorted(
        [
            (beech.school.id, f"person:{named.member.id}"),
            (ash.school.id, f"person:{ash.person.member.id}"),
        ]
    )
    assert readers == {named.member.id, ash.person.member.id}

    # The named member: count, inbox, page, API; the notification reached them.
    assert named_client.get("/notifications/unread.json").get_json()["unread"] == 1
    assert CANARY in named_client.get("/alerts").get_data(as_text=True)
    assert CANARY in named_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    told = tier_helpers.notified(app, alert_id)
    assert named.member.id in told
    # The leadership colleague, the head and the member of staff: nothing.
    outsiders = {
        "colleague": (colleague, colleague_client),
        "head": (beech.person, beech.client),
        "staff": (staff, staff_client),
    }
    for who, (person, client) in outsiders.items():
        assert client.get("/notifications/unread.json").get_json()["unread"] == 0, who
        inbox = client.get("/alerts").get_data(as_text=True)
        assert CANARY not in inbox, who
        assert alert_id not in inbox, who
        assert client.get(f"/alerts/{alert_id}").status_code == 404, who
        assert person.member.id not in told, who
        # Their session's keys (school, leadership, their own) open no wrap of it.
        held = tier_helpers.session_keys(app, client)
        assert held is not None, who
        assert not tier_helpers.opens(app, alert_id, beech.school.id, _bundles_of(held)), who
        # Their password's credential opens no personal bundle but their own.
        assert _personal_wraps_open(app, tier_helpers.credential(app, person.member.id)) == [
            person.member.id
        ], who
    # Nor do shared subscriptions hear of it (no owner): only people named.
    assert None not in told
    # The head's API token reads nothing of it either.
    beech_api = api_for(app, beech.person.email)
    assert beech_api.get(f"/api/v1/alerts/{alert_id}").status_code == 404
    assert alert_id not in beech_api.get("/api/v1/alerts").get_data(as_text=True)
    # A token carries its maker's personal keys: named, the head reads through it.
    to_head = _post_named(api, beech.school, [beech.person.email], title="For the head")
    assert to_head.status_code == 201
    page = beech_api.get(f"/api/v1/alerts/{to_head.get_json()['id']}")
    assert "For the head" in page.get_data(as_text=True)
    # The sender's head reads its Sent copy, sealed to them by name.
    assert CANARY in ash.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    # The named member's key really opens it.
    assert tier_helpers.opens(
        app, alert_id, beech.school.id, _bundles_of(tier_helpers.session_keys(app, named_client))
    )


@pytest.mark.heads("Ash", "Beech")
def test_after_a_password_change_it_still_opens_and_the_old_credential_opens_nothing_newer(
    app, world, heads
):
    ash, beech = heads["Ash"], heads["Beech"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    api = api_for(app, ash.person.email)
    before = _post_named(api, beech.school, [named.email], title="Before the change")
    assert before.status_code == 201, before.get_data(as_text=True)[:500]
    before_id = before.get_json()["id"]
    old_credential = tier_helpers.credential(app, named.member.id)
    old_session = personal.personal_of(tier_helpers.session_keys(app, named_client))
    assert old_session is not None
    assert old_session[1].generation == 1
    # What a backup taken now holds: the wrap of their personal keys to the old credential.
    with own_transaction(app) as session:
        old_wrap = session.scalars(
            select(PersonalWrap).where(PersonalWrap.member_id == named.member.id)
        ).one()
        backup = (old_wrap.generation, old_wrap.credential_kind, old_wrap.wrap)

    _change_password(named_client)
    # The renewed session reads what was sealed before the change.
    page = named_client.get(f"/alerts/{before_id}").get_data(as_text=True)
    assert "Before the change" in page
    after = _post_named(api, beech.school, [str(named.member.id)], title="After the change")
    assert after.status_code == 201
    after_id = after.get_json()["id"]
    assert "After the change" in named_client.get(f"/alerts/{after_id}").get_data(as_text=True)
    # Signing in anew with the new password: both open.
    fresh = app.test_client()
    assert sign_in(fresh, named.email, NEW_PASSWORD).status_code == 302
    for alert_id, title in ((before_id, "Before the change"), (after_id, "After the change")):
        assert title in fresh.get(f"/alerts/{alert_id}").get_data(as_text=True)
    # The personal keys moved to generation 2, the first chained under them.
    with own_transaction(app) as session:
        generations = {
            g.generation: g.retired_at is None
            for g in session.scalars(
                select(PersonalKeyGeneration).where(
                    PersonalKeyGeneration.member_id == named.member.id
                )
            )
        }
    assert generations == {1: False, 2: True}
    # The old credential opens no wrap on the hub now.
    assert _personal_wraps_open(app, old_credential) == []
    # With the wrap a backup kept, it opens generation 1: what was sealed
    # before, and nothing sealed after; nor does the old session's bundle.
    generation, kind, blob = backup
    old_bundle = SchoolKeys.from_bytes(
        custody.unwrap_with_credential(
            blob,
            old_credential,
            personal.wrap_context(named.member.id, generation, kind, named.member.id),
        )
    )
    assert old_bundle.generation == 1
    assert tier_helpers.opens(app, before_id, beech.school.id, [old_bundle])
    assert not tier_helpers.opens(app, after_id, beech.school.id, [old_bundle, old_session[1]])
    # The new session's bundle (generation 2) opens the one sealed after.
    new_held = personal.personal_of(tier_helpers.session_keys(app, fresh))
    assert new_held is not None
    assert new_held[1].generation == 2
    assert tier_helpers.opens(app, after_id, beech.school.id, [new_held[1]])


@pytest.mark.heads("Ash", "Beech")
def test_naming_someone_who_cannot_receive_it_is_refused_with_nothing_written(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    # A DSL who has never signed in: no personal keys yet.
    waiting = world.person(Role.DSL, "waiting@beech.example.org", school=beech.school)
    staff, _client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    api = api_for(app, ash.person.email)
    with own_transaction(app) as session:
        alerts_before = session.scalar(select(func.count()).select_from(Alert))
    refused = _post_named(api, beech.school, [str(waiting.member.id)])
    assert_problem(refused, 422, "cannot receive an alert by name yet", field="named")
    assert waiting.member.name in refused.get_data(as_text=True)
    # A member of staff is not someone another school may name.
    not_pickable = _post_named(api, beech.school, [staff.email])
    assert_problem(not_pickable, 422, "not in the leadership", field="named")
    # Nobody named at all.
    assert_problem(_post_named(api, beech.school, []), 422, "Name the people", field="named")
    unknown = _post_named(api, beech.school, ["nobody@nowhere.example.org"])
    assert_problem(unknown, 422, "nobody a sender may name", field="named")
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == alerts_before
        assert session.scalar(select(func.count()).select_from(NamedReader)) == 0


@pytest.mark.heads("Ash", "Beech")
def test_the_post_form_sends_to_named_people_and_says_who_cannot_receive_it_yet(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    _colleague, colleague_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl2@beech.example.org"
    )
    waiting = world.person(Role.DEPUTY_DSL, "waiting@beech.example.org", school=beech.school)
    form = ash.client.get("/alerts/new").get_data(as_text=True)
    # The form lists Beech's leadership by name, and says who cannot receive it yet.
    assert "Named people only" in form
    assert f'value="{named.member.id}"' in form
    assert "cannot receive it by name until they next sign in" in form
    refused = ash.post_alert(
        [beech.school], title=CANARY, tier="named", named=[str(waiting.member.id)]
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "cannot receive an alert by name yet" in page
    assert waiting.member.name in page
    response = ash.post_alert(
        [beech.school], title=CANARY, tier="named", named=[str(named.member.id)]
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    assert CANARY in named_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert colleague_client.get(f"/alerts/{alert_id}").status_code == 404
    assert beech.client.get(f"/alerts/{alert_id}").status_code == 404
    # A reply from the named member is sealed to the named people too.
    reply = named_client.post(
        f"/alerts/{alert_id}/reply",
        data={"csrf_token": csrf_token(named_client, f"/alerts/{alert_id}"), "text": "Seen it"},
    )
    assert reply.status_code in (302, 303), reply.get_data(as_text=True)[:300]
    assert "Seen it" in ash.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert colleague_client.get(f"/alerts/{alert_id}").status_code == 404


@pytest.mark.heads("Ash", "Beech")
def test_withdrawing_someone_from_a_named_thread_does_not_widen_it(app, world, heads):
    ash, beech = heads["Ash"], heads["Beech"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    staff, _staff_client = tier_helpers.join_signed_in(
        app, world, beech, Role.STAFF, "staff@beech.example.org"
    )
    response = _post_named(api_for(app, ash.person.email), beech.school, [named.email])
    assert response.status_code == 201
    alert_id = response.get_json()["id"]
    token = csrf_token(named_client, f"/alerts/{alert_id}")
    done = named_client.post(
        f"/alerts/{alert_id}/withdraw-member",
        data={"member_id": str(staff.member.id), "csrf_token": token},
    )
    assert done.status_code == 303, done.get_data(as_text=True)[:300]
    reply = named_client.post(
        f"/alerts/{alert_id}/reply",
        data={"csrf_token": csrf_token(named_client, f"/alerts/{alert_id}"), "text": "Later"},
    )
    assert reply.status_code in (302, 303)
    with own_transaction(app) as session:
        tiers = set(
            session.scalars(
                select(SealedWrap.tier)
                .join(ThreadItem, ThreadItem.sealed_id == SealedWrap.sealed_id)
                .where(
                    ThreadItem.alert_id == uuid.UUID(alert_id),
                    SealedWrap.school_id == beech.school.id,
                )
            )
        )
    assert tiers == {f"person:{named.member.id}"}
    assert beech.client.get(f"/alerts/{alert_id}").status_code == 404


@pytest.mark.heads("Ash", "Beech", "Cedar")
def test_a_named_alert_is_never_forwarded(app, world, heads):
    # Even labelled TLP:GREEN: forwarding would widen it beyond those named.
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    posted = api_for(app, ash.person.email).post(
        "/api/v1/alerts",
        alert_body([beech.school], title=CANARY, tlp="GREEN", tier="named", named=[named.email]),
    )
    assert posted.status_code == 201, posted.get_data(as_text=True)[:500]
    alert_id = posted.get_json()["id"]
    page = named_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Sealed to named people only: it cannot be forwarded" in page
    assert f'action="/alerts/{alert_id}/forward"' not in page
    refused = named_client.post(
        f"/alerts/{alert_id}/forward",
        data={
            "csrf_token": csrf_token(named_client, f"/alerts/{alert_id}"),
            "schools": [str(cedar.school.id)],
        },
    )
    assert refused.status_code == 403
    assert "sealed to named people only: it must not be forwarded" in refused.get_data(as_text=True)
    # Nor by its sender, through the API.
    through_api = api_for(app, ash.person.email).post(
        f"/api/v1/alerts/{alert_id}/forward", {"schools": [str(cedar.school.id)]}
    )
    assert_problem(through_api, 403, "must not be forwarded")
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 1


@pytest.mark.heads("Ash", "Beech")
def test_a_staff_alert_to_named_people_waits_for_review_then_reaches_only_them(app, world, heads):
    from tests.network.review_helpers import HELD, team

    ash, beech = heads["Ash"], heads["Beech"]
    named, named_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "named@beech.example.org"
    )
    _colleague, colleague_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "dsl2@beech.example.org"
    )
    author, dsl = team(app, world, ash)
    sent = author.post_alert(
        [beech.school], title=CANARY, tier="named", named=[str(named.member.id)]
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)[:2000]
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
    (held_id,) = HELD.findall(dsl.client.get("/alerts/reviews").get_data(as_text=True))
    approved = dsl.post(f"/alerts/reviews/{held_id}/approve", {}, page=f"/alerts/reviews/{held_id}")
    assert approved.status_code == 303, approved.get_data(as_text=True)[:2000]
    with own_transaction(app) as session:
        alert_id = str(session.scalars(select(Alert.id)).one())
        tiers = set(
            session.scalars(
                select(AlertRecipient.tier).where(AlertRecipient.school_id == beech.school.id)
            )
        )
    assert tiers == {"named"}
    assert CANARY in named_client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert colleague_client.get(f"/alerts/{alert_id}").status_code == 404
    assert beech.client.get(f"/alerts/{alert_id}").status_code == 404


def test_each_named_reader_keeps_and_uses_a_read_record_of_their_own(
    app, world, heads, monkeypatch
):
    """Two people named at one school: each one's first listing keeps a read
    record (and search entry) sealed under their own keys, and their later
    listings and searches open it instead of verifying the envelope again."""
    ash, beech = heads["Ash"], heads["Beech"]
    first, first_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DSL, "one@beech.example.org"
    )
    second, second_client = tier_helpers.join_signed_in(
        app, world, beech, Role.DEPUTY_DSL, "two@beech.example.org"
    )
    named = [str(first.member.id), str(second.member.id)]
    title = "Both named readers 81d2"
    response = _post_named(api_for(app, ash.person.email), beech.school, named, title=title)
    assert response.status_code == 201, response.get_data(as_text=True)[:500]
    alert_id = uuid.UUID(response.get_json()["id"])
    for client in (first_client, second_client):
        assert title in client.get("/alerts").get_data(as_text=True)
    with own_transaction(app) as session:
        records = set(
            session.scalars(
                select(ReadRecord.tier)
                .join(Alert, Alert.sealed_id == ReadRecord.sealed_id)
                .where(Alert.id == alert_id, ReadRecord.school_id == beech.school.id)
            )
        )
        entries = set(
            session.scalars(
                select(SearchEntry.tier).where(
                    SearchEntry.alert_id == alert_id, SearchEntry.school_id == beech.school.id
                )
            )
        )
    own = {f"person:{first.member.id}", f"person:{second.member.id}"}
    assert records == own
    assert entries == own

    verified: list[object] = []
    first_listing = inbox._RecordKeys.first_listing

    def counted(self, *args, **kwargs):
        verified.append(args[0])
        return first_listing(self, *args, **kwargs)

    monkeypatch.setattr(inbox._RecordKeys, "first_listing", counted)
    for client in (first_client, second_client):
        assert title in client.get("/alerts").get_data(as_text=True)
        assert title in client.get("/alerts?q=readers").get_data(as_text=True)
    assert verified == []
