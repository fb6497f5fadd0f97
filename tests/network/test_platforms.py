"""Platforms as data: the hub admin adds, edits and retires them; the post
form shows their reporting links and warns about year groups under age."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from network.alerts.models import Alert, Platform
from network.alerts.platforms import ages_in, under_age_warning
from network.cli import main
from network.db import own_transaction
from schools.models import Role
from tests.conftest import sign_in
from tests.network.alerts_helpers import count_rows, make_head
from tests.network.api_helpers import alert_body, api_for, assert_problem
from tests.network.notify_helpers import actions

SEEDED = {
    "facebook": 13,
    "whatsapp": 13,
    "instagram": 13,
    "tiktok": 13,
    "snapchat": 13,
    "x": 13,
    "youtube": 13,
    "roblox": 0,
    "discord": 13,
    "telegram": 16,
    "threads": 13,
    "other": 0,
}
COLUMNS = ("name", "minimum_age", "position", "reporting_url", "underage_reporting_url")


@pytest.fixture
def seeded_platforms(app):
    """The platforms table is reference data the PostgreSQL run keeps between
    tests (tests/conftest.py REFERENCE_TABLES): put it back as it was."""
    with own_transaction(app) as session:
        kept = {
            p.code: {c: getattr(p, c) for c in COLUMNS} for p in session.scalars(select(Platform))
        }
    yield kept
    with own_transaction(app) as session:
        for platform in session.scalars(select(Platform)):
            if platform.code not in kept:
                session.delete(platform)
                continue
            for column, value in kept[platform.code].items():
                setattr(platform, column, value)
            platform.retired_at = None


@pytest.fixture
def admin(app, world):
    world.person(Role.HUB_ADMIN, "admin@hub.example.org")
    client = app.test_client()
    assert sign_in(client, "admin@hub.example.org").status_code == 302
    return client


def _post(client, url, data, page="/admin/platforms"):
    from tests.conftest import post_form

    return post_form(client, url, data, page=page)


def test_the_seed_has_current_uk_minimum_ages_and_the_newer_platforms(app, seeded_platforms):
    assert {code: row["minimum_age"] for code, row in seeded_platforms.items()} == SEEDED
    assert seeded_platforms["facebook"]["underage_reporting_url"].startswith("https://")
    # "Other" stays last.
    assert max(seeded_platforms.values(), key=lambda r: r["position"])["name"] == "Other"


def test_the_hub_admin_adds_edits_and_retires_a_platform(app, admin, seeded_platforms):
    response = _post(
        admin,
        "/admin/platforms",
        {
            "code": "bereal",
            "name": "BeReal",
            "minimum_age": "13",
            "reporting_url": "https://help.bereal.example/report",
            "underage_reporting_url": "",
        },
    )
    assert response.status_code == 303
    page = admin.get("/admin/platforms").get_data(as_text=True)
    assert "BeReal" in page
    assert "https://help.bereal.example/report" in page
    response = _post(
        admin,
        "/admin/platforms/bereal",
        {
            "name": "BeReal.",
            "minimum_age": "16",
            "reporting_url": "https://help.bereal.example/report",
            "underage_reporting_url": "https://help.bereal.example/underage",
        },
        page="/admin/platforms/bereal",
    )
    assert response.status_code == 303
    assert _post(admin, "/admin/platforms/bereal/retire", {"confirm": "yes"}).status_code == 303
    with own_transaction(app) as session:
        bereal = session.get(Platform, "bereal")
        assert (bereal.name, bereal.minimum_age, bereal.retired) == ("BeReal.", 16, True)
        assert bereal.underage_reporting_url == "https://help.bereal.example/underage"
        # Placed before "Other".
        assert bereal.position < session.get(Platform, "other").position
    assert {"platform.added", "platform.edited", "platform.retired"} <= set(actions(app))
    again = _post(admin, "/admin/platforms/bereal/retire", {"confirm": "yes"})
    assert again.status_code == 409
    assert "already retired" in again.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "fields", "field", "message"),
    [
        ("/admin/platforms", {"code": "Bad Code!"}, "code", "lower-case letters"),
        ("/admin/platforms", {"code": "facebook"}, "code", "already a platform"),
        ("/admin/platforms", {"minimum_age": "22"}, "minimum_age", "from 0 to 21"),
        ("/admin/platforms", {"minimum_age": "-1"}, "minimum_age", "from 0 to 21"),
        ("/admin/platforms", {"reporting_url": "javascript:alert(1)"}, "reporting_url", "https://"),
        (
            "/admin/platforms/whatsapp",
            {"underage_reporting_url": "https://exa mple.org"},
            "underage_reporting_url",
            "no spaces",
        ),
        ("/admin/platforms/whatsapp", {"name": ""}, "name", "Enter the platform"),
        ("/admin/platforms/whatsapp", {"minimum_age": "99"}, "minimum_age", "from 0 to 21"),
    ],
)
def test_bad_platform_input_is_refused_beside_its_field_and_nothing_is_written(
    app, admin, seeded_platforms, url, fields, field, message
):
    data = {"code": "newone", "name": "New One", "minimum_age": "13", "reporting_url": ""}
    data.update(fields)
    page = url if url != "/admin/platforms" else "/admin/platforms"
    response = _post(admin, url, data, page=page)
    html = response.get_data(as_text=True)
    assert response.status_code in (409, 422), html
    assert f'id="{field}-error"' in html
    assert message in html
    assert count_rows(app, Platform) == len(seeded_platforms)
    with own_transaction(app) as session:
        whatsapp = session.get(Platform, "whatsapp")
        assert {c: getattr(whatsapp, c) for c in COLUMNS} == seeded_platforms["whatsapp"]
    assert not {"platform.added", "platform.edited"} & set(actions(app))


def test_an_unknown_platform_is_not_found(app, admin, seeded_platforms):
    assert admin.get("/admin/platforms/myspace").status_code == 404
    assert _post(admin, "/admin/platforms/myspace/retire", {"confirm": "yes"}).status_code == 404


def test_only_the_hub_admin_manages_platforms(app, world, seeded_platforms):
    head = make_head(app, world, world.cluster("Riverside"), "Ash")
    assert head.client.get("/admin/platforms").status_code == 403


def test_the_cli_adds_edits_and_retires_and_refuses_bad_input(app, runner, seeded_platforms):
    add = ["platform", "add", "bereal", "--name", "BeReal", "--minimum-age", "13"]
    result = runner.invoke(main, [*add, "--reporting-url", "https://help.bereal.example/"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["platform", "edit", "bereal", "--minimum-age", "16"])
    assert result.exit_code == 0, result.output
    with own_transaction(app) as session:
        bereal = session.get(Platform, "bereal")
        assert (bereal.minimum_age, bereal.reporting_url) == (16, "https://help.bereal.example/")
    for args, message in [
        (["platform", "edit", "myspace", "--minimum-age", "13"], "no platform 'myspace'"),
        (["platform", "edit", "bereal", "--minimum-age", "22"], "from 0 to 21"),
        (["platform", "edit", "bereal", "--reporting-url", "ftp://x.example"], "https://"),
        (["platform", "retire", "myspace"], "no platform 'myspace'"),
        ([*add[:2], "Bad Code", *add[3:]], "lower-case letters"),
    ]:
        result = runner.invoke(main, args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output
    with own_transaction(app) as session:
        assert session.get(Platform, "bereal").minimum_age == 16
    result = runner.invoke(main, ["platform", "retire", "bereal"])
    assert result.exit_code == 0, result.output
    assert "Retired BeReal" in result.output


def test_a_retired_platform_is_not_offered_for_new_alerts(app, world, seeded_platforms, runner):
    cluster = world.cluster("Riverside")
    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")
    assert runner.invoke(main, ["platform", "retire", "x"]).exit_code == 0
    form = ash.client.get("/alerts/new").get_data(as_text=True)
    assert 'value="x"' not in form
    response = ash.post_alert([beech.school], platform="x")
    assert response.status_code == 422
    assert "Choose the platform." in response.get_data(as_text=True)
    # The API refuses it too; the inbox filter still offers it, for older alerts.
    api = api_for(app, ash.person.email)
    refused = api.post("/api/v1/alerts", alert_body([beech.school], platform="x"))
    assert_problem(refused, 422, "must be one of", field="platform")
    assert '<option value="x">X (Twitter)</option>' in ash.client.get("/alerts").get_data(
        as_text=True
    )
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_the_post_form_shows_reporting_links_and_warns_about_a_year_group_under_age(
    app, world, seeded_platforms
):
    cluster = world.cluster("Riverside")
    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")
    form = ash.client.get("/alerts/new").get_data(as_text=True)
    assert seeded_platforms["facebook"]["underage_reporting_url"] in form
    assert "Reception" in form
    assert "Year 13" in form
    response = ash.post_alert(
        [beech.school], category="under_age", platform="whatsapp", year_group="7"
    )
    assert response.status_code == 303
    page = ash.client.get(response.headers["Location"]).get_data(as_text=True)
    warning = "Every pupil in Year 7 (aged 11 to 12) is under WhatsApp&#39;s minimum age of 13."
    # On the alert itself, from the sealed content; no flash repeats it (a flash
    # would carry the sealed year group in the unencrypted session cookie).
    assert page.count(warning) == 1
    # The recipient sees the year group and the warning too: they are sealed with the alert.
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    seen = beech.client.get(f"/alerts/{alert_id}").get_data(as_text=True)
    assert "Year group: <strong>Year 7</strong>" in seen
    assert warning in seen


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"category": "under_age", "year_group": "14"}, "Choose Reception or a year from 1 to 13."),
        ({"category": "under_age", "year_group": "Jo Bloggs"}, "Choose Reception or a year"),
        ({"category": "harassment", "year_group": "7"}, "only for under-age use"),
    ],
)
def test_a_bad_year_group_is_refused_beside_the_field(
    app, world, seeded_platforms, fields, message
):
    cluster = world.cluster("Riverside")
    ash, beech = make_head(app, world, cluster, "Ash"), make_head(app, world, cluster, "Beech")
    response = ash.post_alert([beech.school], **fields)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="year_group-error"' in html
    assert message in html
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_year_group_ages_and_warnings_at_the_edges():
    snapchat = Platform(code="snapchat", name="Snapchat", minimum_age=13)
    assert ages_in("R") == (4, 5)
    assert ages_in("13") == (17, 18)
    assert under_age_warning("7", snapchat).startswith("Every pupil in Year 7")
    assert under_age_warning("8", snapchat).startswith("Some pupils in Year 8 (aged 12 to 13)")
    assert under_age_warning("9", snapchat) == ""
    assert under_age_warning("R", Platform(code="roblox", name="Roblox", minimum_age=0)) == ""


def test_every_problem_of_the_platform_form_is_shown_at_once(app, admin, seeded_platforms):
    data = {
        "code": "Bad Code!",
        "name": "",
        "minimum_age": "",
        "reporting_url": "javascript:alert(1)",
        "underage_reporting_url": "ftp://example.com",
    }
    response = _post(admin, "/admin/platforms", data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("code", "name", "minimum_age", "reporting_url", "underage_reporting_url"):
        assert f'id="{field}-error"' in html, field
    assert count_rows(app, Platform) == len(seeded_platforms)
