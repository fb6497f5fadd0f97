"""Irreversible actions are confirmed before they happen, without JavaScript.

Each page action listed in IRREVERSIBLE runs only when its form says
``confirm=yes``: a form that already asks (a required tick box beside its
fields) sends it; a bare button's first press gets a confirmation page that
says what cannot be undone and posts the same fields again with the box to
tick. Until then nothing is written: the view does not run. Actions confirmed
by a step of their own are in CONFIRMED_ELSEWHERE, with that step.
tests/network/test_confirmations.py walks both lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import current_app, render_template, request

from network import auth
from network.db import db
from schools import factors

if TYPE_CHECKING:
    from flask import Flask

FIELD = "confirm"
YES = "yes"


@dataclass(frozen=True)
class Irreversible:
    question: str  # the page's heading
    consequence: str  # what cannot be undone
    button: str
    # Asked only when this says something would be lost (None: always).
    applies: Callable[[], bool] | None = None


def _has_backup_codes() -> bool:
    """New backup codes spend the unused ones; a member's first ones spend nothing."""
    return factors.backup_codes_left(db(), auth.actor()) > 0


IRREVERSIBLE: dict[str, Irreversible] = {
    "alerts.withdraw": Irreversible(
        "Withdraw this alert?",
        "Its content, evidence and whole thread are destroyed at every school that "
        "received it. Nobody can open them again.",
        "Withdraw the alert",
    ),
    "alerts.release_hold": Irreversible(
        "Release the legal hold?",
        "The alert follows its retention period again: if that has passed, the next "
        "retention run destroys its content for good.",
        "Release the legal hold",
    ),
    "cluster.suspend": Irreversible(
        "Suspend this school?",
        "It stops posting and receiving at once, and the cluster's correlation key is "
        "replaced. Reinstating it later does not deliver the alerts it missed.",
        "Suspend the school",
    ),
    "tokens.revoke": Irreversible(
        "Revoke this API token?",
        "It stops working at once. A revoked token cannot be brought back: systems "
        "using it need a new one.",
        "Revoke the token",
    ),
    "school.recovery_code": Irreversible(
        "Make a new recovery code?",
        "The school's current recovery code stops working at once. Keep the new one "
        "somewhere safe: it is shown only once.",
        "Make a new recovery code",
    ),
    "factors.remove": Irreversible(
        "Remove this second factor?",
        "It stops working at once and your other sessions are signed out. To use it "
        "again you set it up anew.",
        "Remove the second factor",
    ),
    "factors.new_backup_codes": Irreversible(
        "Make new backup codes?",
        "Your unused backup codes stop working at once.",
        "Make new backup codes",
        applies=_has_backup_codes,
    ),
    "notifications.delete_subscription": Irreversible(
        "Delete this subscription?",
        "Nothing more is sent through it. Its settings cannot be brought back.",
        "Delete the subscription",
    ),
    "notifications.rotate_secret": Irreversible(
        "Rotate the signing secret?",
        "The receiving system must be given the new secret: messages signed with the "
        "old one stop being sent.",
        "Rotate the signing secret",
    ),
    "platforms.retire": Irreversible(
        "Retire this platform?",
        "It is no longer offered for new alerts. A platform cannot be offered again "
        "once retired; alerts already filed under it keep it.",
        "Retire the platform",
    ),
    "school.withdraw": Irreversible(
        "Withdraw this invitation?",
        "Its link stops working at once. To invite the person again you send a new one.",
        "Withdraw the invitation",
    ),
    "cluster.withdraw": Irreversible(
        "Withdraw this invitation?",
        "Its link stops working at once. To invite the person again you send a new one.",
        "Withdraw the invitation",
    ),
}

#: Irreversible actions confirmed by a step of their own, and that step.
CONFIRMED_ELSEWHERE: dict[str, str] = {
    "school.remove": "a confirmation page (GET /school/members/<id>/remove)",
    "factors.reset": "a confirmation page (GET /school/members/<id>/reset-second-factor)",
    "alerts.resolve": "a required tick box beside the note",
    "auth.sign_out_everywhere": "the member's password",
}


def confirmed() -> bool:
    return request.form.get(FIELD) == YES


def init_app(app: Flask) -> None:
    """After the sign-in gate and CSRF (registered before): the page is shown
    only to someone who may act."""

    @app.before_request
    def _ask() -> Any:
        if request.method != "POST" or request.endpoint not in IRREVERSIBLE:
            return None
        action = IRREVERSIBLE[request.endpoint]
        if confirmed() or (action.applies is not None and not action.applies()):
            return None
        # Confirming it is them comes first: that page sends them back to the
        # page they came from, to press the button again and confirm.
        if auth.needs_step_up(current_app.view_functions.get(request.endpoint)):
            return None
        fields = [
            (name, value)
            for name, value in request.form.items(multi=True)
            if name not in ("csrf_token", FIELD)
        ]
        return render_template(
            "confirm_action.html",
            action=action,
            url=request.path,
            fields=fields,
            field=FIELD,
            yes=YES,
        )
