"""Evidence as a head attaches it from a phone, in a real browser: an 8 MB
camera photo with its GPS position and a 9 MB screenshot go through the post
form's file field and reach the recipient school stripped of their metadata."""

from __future__ import annotations

import io
import re

from PIL import Image

from schools.models import Role
from tests.conftest import PASSWORD
from tests.network.alerts_helpers import PHONE_MAKE, large_png, phone_photo

ATTACHMENT = re.compile(r'href="(/alerts/[0-9a-f-]{36}/attachments/[0-9a-f-]{36})"')


def test_a_phone_photo_and_a_large_screenshot_arrive_stripped(live_world, visitor, tmp_path):
    cluster = live_world.cluster("Riverside")
    for name in ("Ash", "Beech"):
        school = live_world.school(cluster, f"{name} Primary")
        live_world.person(
            Role.HEAD, f"head@{name.lower()}.example.org", school=school, name=f"Head of {name}"
        )
    photo, screenshot = tmp_path / "IMG_2041.jpg", tmp_path / "Screenshot 2026-12-04.png"
    photo.write_bytes(phone_photo())
    screenshot.write_bytes(large_png())
    assert photo.stat().st_size >= 8 * 1024 * 1024
    assert screenshot.stat().st_size >= 9 * 1024 * 1024

    a = visitor("head-a")
    a.sign_in("head@ash.example.org", PASSWORD)
    a.goto("/alerts/new")
    page = a.page
    page.get_by_label("Harassment or bullying").check()
    page.get_by_label("Platform", exact=True).select_option("instagram")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Photos of pupils shared by a fake account")
    page.get_by_label("What happened").fill("Screenshots and the photo a parent sent us.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_label("Evidence (optional)").set_input_files([str(photo), str(screenshot)])
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    assert "Alert sent to 1 school" in page.content(), page.content()[:2000]
    a.assert_accessible()
    a.snap("posted-with-large-evidence")
    alert_url = page.url

    b = visitor("head-b")
    b.sign_in("head@beech.example.org", PASSWORD)
    b.page.goto(alert_url)
    html = b.page.content()
    assert "Signature verified" in html
    assert "IMG_2041.jpg" in html
    assert "Screenshot 2026-12-04.png" in html
    b.assert_accessible()
    links = ATTACHMENT.findall(html)
    assert len(links) == 2
    # Downloaded with the recipient's own browser session.
    files = [b.context.request.get(b.base + link) for link in links]
    assert all(f.status == 200 for f in files)
    by_type = {f.headers["content-type"].split(";")[0]: f.body() for f in files}
    assert set(by_type) == {"image/jpeg", "image/png"}
    for body in by_type.values():
        assert PHONE_MAKE.encode() not in body
    with Image.open(io.BytesIO(by_type["image/jpeg"])) as image:
        assert image.size == (3264, 2448)
        assert not image.getexif()  # no camera, no GPS position
    with Image.open(io.BytesIO(by_type["image/png"])) as image:
        assert "Author" not in image.info
