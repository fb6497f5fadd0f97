"""Printing an alert and saving it as a PDF, with its thread, signatures and
fingerprints (network/alerts/export.py, network/alerts/pdf.py)."""

from __future__ import annotations

import io
import re
import uuid

from pypdf import PdfReader
from sqlalchemy import select, update

from network.alerts.models import Alert
from network.db import own_transaction
from schools.audit.models import AuditEvent
from tests.network.alerts_helpers import integrate_queued_reads

FINGERPRINT = re.compile(r"<code>(\d{5}(?: \d{5}){11})</code>")


def _posted_with_a_reply(a, b, title="Fake account naming the head — Ünïcode ✓"):
    alert_id = (
        a.post_alert([b.school], title=title, description="Posted on 3 December; two staff named.")
        .headers["Location"]
        .rsplit("/", 1)[1]
    )
    page = f"/alerts/{alert_id}"
    reply = b.post(f"{page}/reply", {"text": "We reported it to the platform today."}, page=page)
    assert reply.status_code == 303
    shown = b.client.get(page).get_data(as_text=True)
    return alert_id, FINGERPRINT.search(shown).group(1)


def _exports(app, alert_id):
    integrate_queued_reads(app)
    with own_transaction(app) as session:
        return [
            e.detail.get("medium")
            for e in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "alert.exported", AuditEvent.object_id == alert_id)
                .order_by(AuditEvent.seq)
            )
        ]


def test_the_pdf_holds_the_title_thread_and_signer_fingerprint_and_is_not_cached(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, fingerprint = _posted_with_a_reply(a, b)
    response = b.client.get(f"/alerts/{alert_id}/alert.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Content-Disposition"] == f"attachment; filename=alert-{alert_id}.pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = " ".join(page.extract_text() for page in reader.pages)
    flat = re.sub(r"\s+", " ", text)
    assert "Fake account naming the head — Ünïcode ✓" in flat
    assert "Posted on 3 December; two staff named." in flat
    assert "We reported it to the platform today." in flat
    assert fingerprint in flat
    assert "Head of Beech, Beech" in flat  # the reply's author and school
    assert reader.metadata.title == "Fake account naming the head — Ünïcode ✓"
    assert _exports(app, alert_id) == ["pdf"]


def test_the_print_page_shows_the_thread_and_every_signers_fingerprint(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, fingerprint = _posted_with_a_reply(a, b)
    response = b.client.get(f"/alerts/{alert_id}/print")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "We reported it to the platform today." in page
    assert fingerprint in page
    # The reply was signed by Beech: its own key's fingerprint is shown beside it.
    beech = FINGERPRINT.search(a.client.get(f"/alerts/{alert_id}").get_data(as_text=True))
    assert beech is not None
    fingerprints = re.findall(r'<code class="fingerprint">([\d ]{71})</code>', page)
    assert len(set(fingerprints)) == 2
    css = b.client.get("/static/app.css")
    assert b"@media print" in css.data
    css.close()
    assert _exports(app, alert_id) == ["print"]


def test_a_school_that_did_not_receive_the_alert_cannot_export_it(app, heads, coordinator):
    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id, _ = _posted_with_a_reply(a, b)
    assert c.client.get(f"/alerts/{alert_id}/alert.pdf").status_code == 404
    refused = coordinator.get(f"/alerts/{alert_id}/alert.pdf")
    assert refused.status_code == 403
    assert b"%PDF" not in refused.data
    assert _exports(app, alert_id) == []


def test_a_withdrawn_alert_has_nothing_to_print(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, _ = _posted_with_a_reply(a, b)
    page = f"/alerts/{alert_id}"
    assert (
        a.post(
            f"{page}/withdraw", {"reason": "Sent in error", "confirm": "yes"}, page=page
        ).status_code
        == 303
    )
    assert b.client.get(f"{page}/alert.pdf").status_code == 404
    assert b.client.get(f"{page}/print").status_code == 404


def test_signing_in_is_needed_to_export(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, _ = _posted_with_a_reply(a, b)
    assert app.test_client().get(f"/alerts/{alert_id}/alert.pdf").status_code == 302


def test_an_alert_that_fails_its_integrity_check_is_not_exported(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, _ = _posted_with_a_reply(a, b)
    with own_transaction(app) as session:  # the hub's record no longer matches the signed one
        session.execute(update(Alert).where(Alert.id == uuid.UUID(alert_id)).values(severity="low"))
    refused = b.client.get(f"/alerts/{alert_id}/alert.pdf")
    assert refused.status_code == 409
    assert b"%PDF" not in refused.data
    assert _exports(app, alert_id) == []


def test_characters_the_pdf_font_lacks_are_marked_and_explained(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    alert_id, _ = _posted_with_a_reply(a, b, title="Group chat 中文 named staff")
    response = b.client.get(f"/alerts/{alert_id}/alert.pdf")
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    flat = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
    assert "Group chat \ufffd\ufffd named staff" in flat
    assert "Characters this document's font cannot draw are shown as" in flat
    # The print page shows them as written.
    assert "Group chat 中文 named staff" in b.client.get(f"/alerts/{alert_id}/print").get_data(
        as_text=True
    )


def test_an_api_token_downloads_the_pdf_and_the_download_is_audited(app, heads):
    from tests.network.api_helpers import api_for, assert_problem

    a, b, c = heads["Ash"], heads["Beech"], heads["Cedar"]
    alert_id, fingerprint = _posted_with_a_reply(a, b)
    response = api_for(app, b.person.email).get(f"/api/v1/alerts/{alert_id}/alert.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    assert fingerprint in re.sub(r"\s+", " ", text)
    assert _exports(app, alert_id) == ["pdf"]
    assert_problem(api_for(app, c.person.email).get(f"/api/v1/alerts/{alert_id}/alert.pdf"), 404)
