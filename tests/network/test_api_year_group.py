"""The API takes the year group of an under-age alert, as the post form does,
and what was done; reading the alert gives both, with the under-age warning
(docs/alerts.md)."""

from __future__ import annotations

from tests.network.api_helpers import alert_body, api_for, assert_problem


def test_the_api_posts_a_year_group_and_reading_warns_it_is_under_age(app, pair):
    ash, beech = pair
    body = alert_body(
        [beech.school],
        category="under_age",
        platform="whatsapp",
        year_group="7",
        done={
            "referred_to": ["reported_platform"],
            "references": "WA-881",
            "dsl_name": "Sam Okafor",
        },
    )
    posted = api_for(app, ash.person.email).post("/api/v1/alerts", body)
    assert posted.status_code == 201, posted.get_json()
    assert "year_group" not in posted.get_json()  # the answer is metadata only
    read = api_for(app, beech.person.email).get(posted.headers["Location"]).get_json()
    content = read["content"]
    assert content["year_group"] == "7"
    assert content["under_age_warning"] == (
        "Every pupil in Year 7 (aged 11 to 12) is under WhatsApp's minimum age of 13."
    )
    assert content["done"] == {
        "referred_to": ["reported_platform"],
        "references": "WA-881",
        "referred_on": None,
        "dsl_name": "Sam Okafor",
    }


def test_an_alert_without_a_year_group_reads_without_a_warning(app, pair):
    ash, beech = pair
    posted = api_for(app, ash.person.email).post("/api/v1/alerts", alert_body([beech.school]))
    content = api_for(app, beech.person.email).get(posted.headers["Location"]).get_json()["content"]
    assert content["year_group"] == ""
    assert content["under_age_warning"] == ""
    assert content["done"] is None


def test_the_api_refuses_a_bad_year_group_naming_the_field(app, pair):
    ash, beech = pair
    api = api_for(app, ash.person.email)
    for fields, says in (
        ({"category": "under_age", "year_group": "14"}, "Choose Reception or a year from 1 to 13."),
        ({"category": "under_age", "year_group": "Jo Bloggs"}, "Choose Reception or a year"),
        ({"category": "harassment", "year_group": "7"}, "only for under-age use"),
    ):
        answer = api.post("/api/v1/alerts", alert_body([beech.school], **fields))
        assert_problem(answer, 422, says, field="year_group")
    answer = api.post("/api/v1/alerts", alert_body([beech.school], done={"references": "CAD 1"}))
    assert_problem(
        answer, 422, "the referral or step the reference number belongs to", field="references"
    )
    assert ash.alert_ids("/alerts/sent") == []
