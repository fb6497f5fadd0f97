"""Pages that print an alert with its thread, signatures and fingerprints, and
its PDF download (network/alerts/export.py)."""

from __future__ import annotations

import uuid

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import vocab
from network.alerts.export import ExportMedium, export_alert, item_verb
from network.alerts.pdf import pdf_download
from network.db import db
from schools.policy import Permission

bp = Blueprint("alert_export", __name__, url_prefix="/alerts")


@bp.route("/<uuid:alert_id>/print", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def print_page(alert_id: uuid.UUID) -> ResponseReturnValue:
    exported = export_alert(db(), auth.actor(), auth.school_keys(), alert_id, ExportMedium.PRINT)
    return render_template(
        "alerts/print.html",
        exported=exported,
        opened=exported.opened,
        alert=exported.opened.view.alert,
        vocab=vocab,
        item_verb=item_verb,
    )


@bp.route("/<uuid:alert_id>/alert.pdf", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def pdf(alert_id: uuid.UUID) -> ResponseReturnValue:
    exported = export_alert(db(), auth.actor(), auth.school_keys(), alert_id, ExportMedium.PDF)
    return pdf_download(exported)
