"""Evidence at the sizes people really attach: phone photos and large screenshots,
through the web form's multipart body and the API's JSON, up to the stated limit."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from network.alerts import evidence
from network.alerts.models import Alert, ThreadItem
from network.db import own_transaction
from tests.network.alerts_helpers import PHONE_MAKE, large_png, phone_photo
from tests.network.api_helpers import alert_body, api_for, attachment

pytestmark = pytest.mark.heads("Ash", "Beech")


def _downloads(app, client, alert_id):
    with own_transaction(app) as session:
        items = session.scalars(select(ThreadItem).where(ThreadItem.kind == "attachment")).all()
        ids = [item.id for item in items]
    downloads = [client.get(f"/alerts/{alert_id}/attachments/{i}") for i in ids]
    return sorted(downloads, key=lambda d: d.mimetype)  # image/jpeg, then image/png


def test_a_phone_photo_and_a_large_screenshot_upload_through_the_form_stripped(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    photo, screenshot = phone_photo(), large_png()
    assert len(photo) >= 8 * 1024 * 1024
    assert 9 * 1024 * 1024 <= len(screenshot) <= evidence.MAX_FILE_BYTES
    response = a.post_alert(
        [b.school],
        evidence=[
            (io.BytesIO(photo), "IMG_2041.jpg", "image/jpeg"),
            (io.BytesIO(screenshot), "Screenshot 2026-12-04.png", "image/png"),
        ],
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    alert_id = response.headers["Location"].rsplit("/", 1)[1]
    jpeg, png = _downloads(app, b.client, alert_id)
    assert jpeg.status_code == png.status_code == 200
    assert jpeg.mimetype == "image/jpeg"
    assert png.mimetype == "image/png"
    for download in (jpeg, png):
        assert PHONE_MAKE.encode() not in download.data
    with Image.open(io.BytesIO(jpeg.data)) as image:
        assert image.size == (3264, 2448)
        assert not image.getexif()
    with Image.open(io.BytesIO(png.data)) as image, Image.open(io.BytesIO(screenshot)) as sent:
        assert image.size == sent.size
        assert "Author" not in image.info
        assert image.tobytes() == sent.tobytes()  # the pixels, exactly


def test_a_file_over_the_limit_is_named_beside_the_field_and_the_form_is_kept(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    too_big = b"%PDF-1.7\n" + b"0" * evidence.MAX_FILE_BYTES
    response = a.post_alert(
        [b.school],
        title="Parents' group names the Year 4 teacher",
        evidence=[(io.BytesIO(too_big), "letter.pdf", "application/pdf")],
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    # Beside the field (its error line), not only in the summary.
    assert 'id="evidence-error"' in page
    assert "letter.pdf is larger than 10 MB." in page.split('id="evidence-error"')[1][:300]
    assert "Parents&#39; group names the Year 4 teacher" in page
    with own_transaction(app) as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_the_form_promises_the_limit_the_server_keeps(app, heads):
    page = heads["Ash"].client.get("/alerts/new").get_data(as_text=True)
    assert f"up to {evidence.MAX_FILES} files of 10 MB each" in page
    settings = app.config["ALERTNET"]
    # Every allowed file at its largest, with the form's text, fits in one request.
    assert settings.max_request_bytes > evidence.MAX_FILES * evidence.MAX_FILE_BYTES + 256 * 1024


def test_the_api_takes_a_phone_photo_and_a_nine_megabyte_screenshot(app, heads):
    a, b = heads["Ash"], heads["Beech"]
    api = api_for(app, a.person.email)
    body = alert_body(
        [b.school],
        attachments=[
            attachment("IMG_2041.jpg", phone_photo(), "image/jpeg"),
            attachment("screen.png", large_png(), "image/png"),
        ],
    )
    response = api.post("/api/v1/alerts", body)
    assert response.status_code == 201, response.get_data(as_text=True)[:2000]
    alert_id = response.get_json()["id"]
    for download in _downloads(app, b.client, alert_id):
        assert download.status_code == 200
        assert PHONE_MAKE.encode() not in download.data
