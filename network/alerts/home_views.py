"""The home page of heads and safeguarding leads: what needs their attention."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from network import auth
from network.alerts import vocab
from network.alerts.attention import HOME_LIMIT, needs_attention
from network.alerts.bulk import FIELD
from network.db import db
from schools.policy import Permission

bp = Blueprint("home", __name__)
# The navigation's "Home" item: shown to those whose home this page is.
bp.add_app_template_global(auth.has_attention_home, "has_attention_home")


@bp.route("/home", methods=["GET"])
@auth.requires(Permission.READ_ALERTS)
def attention() -> ResponseReturnValue:
    found = needs_attention(db(), auth.actor(), auth.school_keys())
    return render_template(
        "alerts/home.html",
        attention=found,
        vocab=vocab,
        limit=HOME_LIMIT,
        field=FIELD,
    )
