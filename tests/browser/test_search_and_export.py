"""Searching the inbox and keeping an alert for the file, in a real browser at
a phone's and a desk's width: Beech finds Ash's alert by a word of its
description once opened, prints it and downloads its PDF."""

from __future__ import annotations

import io

from pypdf import PdfReader

from schools.models import Role
from tests.conftest import PASSWORD

WIDTHS = ((390, 844), (1280, 900))


def test_a_school_searches_its_inbox_prints_an_alert_and_downloads_its_pdf(live_world, visitor):
    cluster = live_world.cluster("Riverside")
    for name in ("Ash", "Beech"):
        school = live_world.school(cluster, f"{name} Primary")
        live_world.person(
            Role.HEAD, f"head@{name.lower()}.example.org", school=school, name=f"Head of {name}"
        )
    a, b = visitor("head-a"), visitor("head-b")
    a.sign_in("head@ash.example.org", PASSWORD)
    b.sign_in("head@beech.example.org", PASSWORD)

    a.goto("/alerts/new")
    page = a.page
    page.get_by_label("Harassment or bullying").check()
    page.get_by_label("Platform", exact=True).select_option("instagram")
    page.get_by_label("High", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Parody account of our caretaker")
    page.get_by_label("What happened").fill("Photos of the minibus posted with insults.")
    page.get_by_label("TLP:AMBER", exact=True).check()
    page.get_by_label("Beech Primary", exact=True).check()
    page.get_by_role("button", name="Encrypt and send").click()
    page.wait_for_load_state()
    alert_url = page.url

    b.goto("/alerts")
    search = b.page.get_by_label("Search titles and descriptions")
    search.fill("minibus")
    b.page.get_by_role("button", name="Search", exact=True).click()
    b.page.wait_for_load_state()
    assert "No alerts match this search." in b.page.content()
    b.assert_accessible()

    b.page.goto(alert_url)
    b.page.get_by_role("textbox", name="Reply").fill("Reported to the platform.")
    b.page.get_by_role("button", name="Send reply").click()
    b.page.wait_for_load_state()

    for width, height in WIDTHS:
        b.page.set_viewport_size({"width": width, "height": height})
        b.goto("/alerts?q=MINIBUS+caretaker")
        assert b.page.get_by_role("link", name="Parody account of our caretaker").count() == 1
        b.assert_fits(width, height)
        b.assert_accessible()
        b.snap(f"search-{width}")

        b.page.goto(alert_url)
        b.page.get_by_role("link", name="Print with its thread and signatures").click()
        b.page.wait_for_load_state()
        content = b.page.content()
        assert "Reported to the platform." in content
        assert "Parody account of our caretaker" in content
        b.assert_fits(width, height)
        b.assert_accessible()
        b.snap(f"print-{width}")
        b.page.emulate_media(media="print")
        assert b.page.locator(".site-header").is_hidden()
        b.snap(f"print-media-{width}")
        b.page.emulate_media(media="screen")

    with b.page.expect_download() as waiting:
        b.page.get_by_role("link", name="Download the PDF").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as pdf:
        reader = PdfReader(io.BytesIO(pdf.read()))
    text = " ".join(p.extract_text() for p in reader.pages)
    assert "Parody account of our caretaker" in text
    assert "Reported to the platform." in text
