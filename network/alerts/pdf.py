"""An exported alert as a PDF (fpdf2): the alert, its corrections, the schools
and their acknowledgements, the thread, and for each part who signed it and
the fingerprint of the key that checked the signature.

The document is made in memory for the member who asked and sent with
``Cache-Control: no-store``; the hub keeps no copy. Text is set in DejaVu Sans
(shipped in static/fonts): Latin, Greek, Cyrillic, Hebrew and many more
scripts print; a character the font lacks (Chinese, Japanese, Korean, emoji)
is printed as U+FFFD and the document says so, pointing to the print page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, current_app
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import TTFFont

from network.alerts import vocab
from network.alerts.export import ExportedAlert, item_verb
from network.alerts.reading import OpenedItem
from network.clock import hub_zone, shown

_FONT = "DejaVu"
_LINE = 5.5
_MISSING = "\ufffd"


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.cell(0, 5, f"{self.footer_text} · page {self.page_no()}/{{nb}}", align="C")


def alert_pdf(exported: ExportedAlert, fonts: Path, tz: ZoneInfo) -> bytes:
    opened = exported.opened
    alert = opened.view.alert
    content = opened.content
    signed = opened.signed
    assert content is not None
    assert signed is not None

    def when(moment: datetime) -> str:
        return shown(moment, tz, "seconds")

    pdf = _Document(format="A4")
    pdf.add_font(_FONT, "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font(_FONT, "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_title(content.title)  # metadata: any character
    pdf.set_subject(f"Alert {alert.id}")
    pdf.set_creator("alertnet")
    pdf.set_creation_date(exported.exported_at)
    pdf.footer_text = f"Alert {alert.id} · TLP:{alert.tlp}"
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_page()

    # The code points the font draws (both faces cover the same scripts).
    font = pdf.fonts[_FONT.lower()]
    assert isinstance(font, TTFFont)
    printable = font.cmap
    missing = False

    def text(value: str, size: float = 10, bold: bool = False) -> None:
        nonlocal missing
        shown_text = "".join(c if ord(c) in printable or c in "\n\t" else _MISSING for c in value)
        missing = missing or shown_text != value
        pdf.set_font(_FONT, "B" if bold else "", size)
        pdf.multi_cell(0, _LINE, shown_text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(value: str) -> None:
        pdf.ln(3)
        text(value, 12, bold=True)

    def lines(values: Sequence[str]) -> None:
        for value in values:
            text(value)

    handling = next((t.hint for t in vocab.TLP if t.code == alert.tlp), "")
    text(f"TLP:{alert.tlp} · {handling}", 9, bold=True)
    text(content.title, 16, bold=True)
    platform = opened.platform.name if opened.platform else alert.platform
    lines(
        [
            f"Category: {vocab.label(vocab.CATEGORIES, signed.category)}",
            f"Severity: {vocab.label(vocab.SEVERITIES, signed.severity)}",
            f"Platform: {platform}",
            f"Status: {alert.status.capitalize()}",
            f"From {alert.sender_school.name} ({alert.sender_member.name}), "
            f"sent {when(signed.created_at)}",
            "Signature verified (Ed25519 and ML-DSA-65) with the sending school's key, "
            f"generation {signed.sender_generation}, fingerprint:",
        ]
    )
    text(opened.sender_fingerprint, bold=True)
    if opened.earlier_format:
        text("Signed under the earlier envelope format (version 1).")
    origin = opened.origin
    if origin is not None:
        source = origin.sender.name if origin.sender else "a school"
        checked = "both signatures checked" if origin.checked else origin.note
        text(f"Forwarded by {alert.sender_school.name}, originally from {source}: {checked}")
    text(f"Alert id {alert.id}; envelope hash {alert.envelope_hash.hex()}", 8)

    if opened.corrections:
        heading("Corrections from the sender")
        for entry in opened.corrections:
            _item(pdf, exported, entry, when, text)
    if content.forwarded_note:
        heading("Forwarding note")
        text(content.forwarded_note)
    if content.description:
        heading("What happened")
        text(content.description)
    if content.year_group:
        text(f"Year group: {content.year_group}")
    if content.links:
        heading("Links to the posts")
        lines(
            [
                link.url + (f" (seen {link.seen_on.isoformat()})" if link.seen_on else "")
                for link in content.links
            ]
        )
    if content.accounts or content.groups:
        heading("Accounts, groups and pages")
        lines([f"Account {name}" for name in content.accounts])
        lines([f"Group or page {g}" for g in content.groups])
    if content.recommended_action:
        heading("Recommended action")
        text(content.recommended_action)

    heading("Schools and acknowledgements")
    for copy in opened.copies:
        if copy.is_sender:
            state = "sent it"
        else:
            read = (
                f"first read {when(copy.first_read_at)}"
                + (f" by {copy.first_read_by.name}" if copy.first_read_by else "")
                if copy.first_read_at
                else "not read yet"
            )
            acknowledged = (
                f"acknowledged {when(copy.acknowledged_at)}"
                + (f" by {copy.acknowledged_by.name}" if copy.acknowledged_by else "")
                if copy.acknowledged_at
                else "not acknowledged"
            )
            state = f"{read}; {acknowledged}"
        text(f"{copy.school.name}: {state}")

    heading("Thread")
    if not opened.thread:
        text("No replies or actions.")
    for entry in opened.thread:
        _item(pdf, exported, entry, when, text)

    pdf.ln(4)
    if missing:
        text(
            f"Characters this document's font cannot draw are shown as {_MISSING}; "
            "the alert's print page shows them as written.",
            8,
            bold=True,
        )
    exporter = exported.exported_by
    school = exporter.school.name if exporter.school is not None else ""
    text(
        f"Exported by {exporter.name}, {school}, on {when(exported.exported_at)}. "
        "Decrypted and checked for this reader only; the hub keeps no copy of this document.",
        8,
    )
    return bytes(pdf.output())


def _item(
    pdf: FPDF,
    exported: ExportedAlert,
    entry: OpenedItem,
    when: Callable[[datetime], str],
    text: Callable[..., None],
) -> None:
    """One thread item: its author, time, what they did, its signer's fingerprint
    (or why it is not shown), and its text."""
    item = entry.item
    alert = exported.opened.view.alert
    verb = item_verb(entry, alert.sender_school_id)
    if item.kind == vocab.ItemKind.ACTION:
        signed_type = entry.signed.action_type if entry.signed is not None else ""
        verb += f": {vocab.label(vocab.ACTIONS, signed_type or item.action_type or '')}"
    moment = entry.signed.created_at if entry.signed is not None else item.created_at
    pdf.ln(1.5)
    text(
        f"{item.author_member.name}, {item.author_school.name} · {when(moment)} · {verb}", 10, True
    )
    if entry.problem:
        text(f"Not shown: {entry.problem}")
        return
    text(f"Signed by the school, key fingerprint {exported.fingerprint_of(entry)}", 8)
    if entry.evidence is not None:
        text(f"Attachment: {entry.evidence.filename} ({entry.evidence.content_type})")
    elif entry.sighting is not None:
        seen = entry.sighting.seen_on.isoformat() if entry.sighting.seen_on else ""
        text(f"Seen {seen}".strip() + (f": {entry.sighting.where}" if entry.sighting.where else ""))
    elif entry.text:
        text(entry.text)


def pdf_download(exported: ExportedAlert) -> Response:
    """The PDF as a download, for the page's route and the API's alike: never
    cached, named by the alert's id only (a title in a file name would end up
    in download histories)."""
    fonts = Path(current_app.static_folder or "static") / "fonts"
    alert_id = exported.opened.view.alert.id
    response = Response(alert_pdf(exported, fonts, hub_zone()), mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"alert-{alert_id}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response
