"""The cluster's guidance per category (docs/alerts.md, "Guidance"): defaults
for a cluster without its own, versions a coordinator writes (audited, older
ones readable), the post form showing it, and what was done sealed with the
alert."""

from __future__ import annotations

from sqlalchemy import MetaData, select

from network.alerts import steps, vocab
from network.alerts.guidance import DEFAULT_GUIDANCE, current_guidance, edit_guidance
from network.db import engine, own_transaction
from schools.errors import NotFound
from schools.models import Cluster, Member
from tests.factories import post_form
from tests.network.alerts_helpers import audit_entries

NEW_TEXT = "Ring Riverside police on 101 and write the incident number below."


def _everything_stored(app) -> str:
    """Every row of every table, as text: what the hub holds in clear."""
    tables = MetaData()
    with engine(app).connect() as connection:
        tables.reflect(connection)
        return "\n".join(
            repr(tuple(row))
            for table in tables.sorted_tables
            for row in connection.execute(select(table))
        )


def test_a_cluster_without_its_own_guidance_shows_the_defaults(app, cluster):
    with own_transaction(app) as session:
        shown = current_guidance(session, cluster.id)
    assert list(shown) == [
        "defamation",
        "staff_named",
        "harassment",
        "safeguarding",
        "under_age",
        "staff_conduct",
        "other",
    ]
    assert all(g.is_default and g.text == DEFAULT_GUIDANCE[c] for c, g in shown.items())
    assert "48 hours" in shown["defamation"].text
    assert "LADO" in shown["staff_conduct"].text
    assert "one working day" in shown["staff_conduct"].text
    assert "reference number" in shown["harassment"].text
    assert "MASH" in shown["safeguarding"].text


def test_the_coordinator_writes_versions_that_are_kept_and_audited(app, cluster, coordinator):
    page = "/cluster/guidance/harassment"
    assert "Harassment or bullying" in coordinator.get("/cluster/guidance").get_data(as_text=True)
    answer = post_form(coordinator, page, {"text": NEW_TEXT, "summary": "Local police number"})
    assert answer.status_code == 303
    answer = post_form(
        coordinator, page, {"text": NEW_TEXT + "\n\nKeep screenshots.", "summary": "Evidence"}
    )
    assert answer.status_code == 303
    with own_transaction(app) as session:
        shown = current_guidance(session, cluster.id)
    assert shown["harassment"].version == 2
    assert shown["harassment"].paragraphs == [NEW_TEXT, "Keep screenshots."]
    assert shown["safeguarding"].is_default  # other categories keep theirs
    history = coordinator.get(page).get_data(as_text=True)
    assert "Version 2" in history
    assert "Version 1" in history
    assert "Local police number" in history
    first = coordinator.get(f"{page}/versions/1").get_data(as_text=True)
    assert NEW_TEXT in first
    assert "Keep screenshots." not in first
    default = coordinator.get(f"{page}/versions/0").get_data(as_text=True)
    assert "the hub's default" in default
    assert coordinator.get(f"{page}/versions/9").status_code == 404
    edits = audit_entries(app, "guidance.edited")
    assert [(e.detail["version"], e.detail["summary"]) for e in edits] == [
        (1, "Local police number"),
        (2, "Evidence"),
    ]
    assert {e.detail["category"] for e in edits} == {"harassment"}


def test_an_empty_or_unchanged_text_is_refused_beside_the_field(app, coordinator):
    page = "/cluster/guidance/harassment"
    answer = post_form(coordinator, page, {"text": " ", "summary": "Nothing"})
    assert answer.status_code == 422
    assert "Enter the guidance." in answer.get_data(as_text=True)
    same = DEFAULT_GUIDANCE["harassment"]
    answer = post_form(coordinator, page, {"text": same, "summary": "No change"})
    assert answer.status_code == 422
    assert "same as the version shown now" in answer.get_data(as_text=True)
    answer = post_form(coordinator, page, {"text": NEW_TEXT, "summary": ""})
    assert answer.status_code == 422
    assert "Enter the summary of the change." in answer.get_data(as_text=True)
    assert coordinator.get("/cluster/guidance/no_such_category").status_code == 404
    assert audit_entries(app, "guidance.edited") == []


def test_a_head_may_neither_read_nor_edit_the_guidance_pages(app, cluster, ash):
    assert ash.client.get("/cluster/guidance").status_code == 403
    assert ash.client.get("/cluster/guidance/harassment").status_code == 403
    answer = ash.post("/cluster/guidance/harassment", {"text": NEW_TEXT, "summary": "x"}, "/alerts")
    assert answer.status_code == 403
    # The service refuses too, whoever calls it.
    with own_transaction(app) as session:
        head = session.get(Member, ash.person.member.id)
        riverside = session.get(Cluster, cluster.id)
        try:
            edit_guidance(session, head, riverside, "harassment", NEW_TEXT, "x")
        except NotFound:
            pass
        else:
            raise AssertionError("a head edited the guidance")
    assert audit_entries(app, "guidance.edited") == []


def test_the_post_form_shows_each_categorys_guidance_and_the_clusters_own(
    app, cluster, ash, coordinator
):
    form = ash.client.get("/alerts/new").get_data(as_text=True)
    assert 'data-guidance="harassment"' in form
    assert 'data-guidance="safeguarding"' in form
    assert "Report Harmful Content" in form
    assert "The hub's default guidance" in form
    assert 'src="/static/guidance.js"' in form
    under_age = form.split('data-guidance="under_age"', 1)[1].split("</details>", 1)[0]
    assert "report an under-age user" in under_age
    post_form(coordinator, "/cluster/guidance/harassment", {"text": NEW_TEXT, "summary": "Ours"})
    form = ash.client.get("/alerts/new").get_data(as_text=True)
    assert NEW_TEXT in form
    assert "Your cluster's guidance, version 1" in form
    # Sent back with a problem, the chosen category's guidance is open.
    answer = ash.post_alert([], category="harassment", title="")
    assert answer.status_code == 422
    assert 'data-guidance="harassment" id="guidance-harassment" open' in answer.get_data(
        as_text=True
    )


def test_what_was_done_is_sealed_and_shown_on_the_alert_page(app, pair):
    ash, beech = pair
    reference = "CAD-4471-05DEC-unique"
    answer = ash.post_alert(
        [beech.school],
        category="harassment",
        referred_to=["police", "reported_platform"],
        references=reference,
        referred_on="2026-11-20",
        dsl_name="Sam Okafor",
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    page = beech.client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "What the sender had done when posting" in page
    assert "Police referral, Reported to the platform" in page
    assert reference in page
    assert "Sam Okafor" in page
    assert "20 Nov 2026" in page
    stored = _everything_stored(app)
    assert reference not in stored
    assert "Sam Okafor" not in stored


def test_a_reference_without_its_agency_is_refused_beside_the_field(app, pair):
    ash, beech = pair
    answer = ash.post_alert([beech.school], category="harassment", references="CAD 1")
    assert answer.status_code == 422
    text = answer.get_data(as_text=True)
    assert 'id="references-error"' in text
    assert "the referral or step the reference number belongs to" in text
    answer = ash.post_alert([beech.school], referred_to=["police"], referred_on="2999-01-01")
    assert answer.status_code == 422
    assert 'id="referred_on-error"' in answer.get_data(as_text=True)
    assert ash.alert_ids("/alerts/sent") == []


def test_the_cli_shows_and_saves_versions_and_refuses_bad_input(app, runner, cluster):
    from network.cli import main

    result = runner.invoke(
        main,
        [
            "guidance",
            "set",
            "Riverside",
            "harassment",
            "--file",
            "-",
            "--summary",
            "From the 2027 policy",
        ],
        input=NEW_TEXT,
    )
    assert result.exit_code == 0, result.output
    assert "Saved version 1 of Riverside's guidance on Harassment or bullying." in result.output
    result = runner.invoke(main, ["guidance", "show", "Riverside"])
    assert "[harassment] Harassment or bullying (version 1)" in result.output
    assert NEW_TEXT in result.output
    assert "[safeguarding] Safeguarding: pupils identifiable (default)" in result.output
    for args, says in (
        (["Riverside", "harassment"], "same as the version shown now"),
        (["Riverside", "gossip"], "No such category."),
        (["Nowhere", "harassment"], "No cluster called 'Nowhere'."),
    ):
        result = runner.invoke(
            main, ["guidance", "set", *args, "--file", "-", "--summary", "x"], input=NEW_TEXT
        )
        assert result.exit_code == 2, result.output
        assert says in result.output
    [edit] = audit_entries(app, "guidance.edited")
    assert edit.actor_id is None
    assert edit.detail["summary"] == "From the 2027 policy"


def test_a_forward_does_not_carry_what_the_sender_did(app, heads):
    ash, beech, cedar = heads["Ash"], heads["Beech"], heads["Cedar"]
    posted = ash.post_alert(
        [beech.school], tlp="GREEN", referred_to=["police"], references="CAD-77-unique"
    )
    alert = posted.headers["Location"]
    assert "CAD-77-unique" in beech.client.get(alert).get_data(as_text=True)
    forwarded = beech.post(
        f"{alert}/forward", {"schools": [str(cedar.school.id)], "note": "For you"}, page=alert
    )
    assert forwarded.status_code == 303, forwarded.get_data(as_text=True)[:500]
    page = cedar.client.get(forwarded.headers["Location"]).get_data(as_text=True)
    assert "For you" in page
    assert "CAD-77-unique" not in page
    assert "What the sender had done when posting" not in page


def test_steps_sealed_with_the_earlier_codes_read_in_the_shared_vocabulary():
    # Alerts sealed before the post form and the referral tracker shared one
    # list carry three older codes; they read as the tracker's words.
    earlier = steps.StepsTaken.from_value(
        {"agencies": ["childrens_social_care", "platform", "report_harmful_content", "police"]}
    )
    assert earlier.agency_labels == [
        "Children's social care or MASH referral",
        "Reported to the platform",
        "Reported to Report Harmful Content",
        "Police referral",
    ]
    assert vocab.codes(vocab.ACTIONS) == steps.AGENCY_CODES
