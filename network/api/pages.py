"""Account > API tokens: a head or coordinator makes a token for a script or
their school's systems (shown once), sees when each was last used, and
revokes it."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from network import auth
from network.alerts.keychain import unlocked
from network.db import db
from network.errors import FormRejected, also_checked, form_errors
from network.forms import MultiCheckboxField
from schools import policy, tokens
from schools.db import utcnow
from schools.policy import Permission, Scope

bp = Blueprint("tokens", __name__, url_prefix="/account/tokens")


class TokenForm(FlaskForm):
    name = StringField(
        "Name",
        description="What will use it, so you recognise it later: 'MIS sync', 'DSL script'.",
        validators=[Length(max=tokens.MAX_NAME)],
    )
    scopes = MultiCheckboxField("What it may do", validate_choice=False)
    expires_days = IntegerField(
        "Expires after (days)",
        default=tokens.DEFAULT_LIFETIME_DAYS,
        description=f"From 1 to {tokens.MAX_LIFETIME_DAYS} days.",
        validators=[
            InputRequired("Enter how many days the token lasts."),
            NumberRange(1, tokens.MAX_LIFETIME_DAYS, f"From 1 to {tokens.MAX_LIFETIME_DAYS}."),
        ],
    )


def _form(form: TokenForm | None = None) -> TokenForm:
    form = form or TokenForm(formdata=None, scopes=[Scope.INBOX_READ.value])
    granted = policy.grantable_scopes(auth.actor())
    form.scopes.choices = [
        SelectChoice(s.value, f"{s.value}: {s.description}") for s in Scope if s in granted
    ]
    return form


def _page(form: TokenForm, status: int = 200, issued: Any = None) -> Any:
    return render_template(
        "tokens/index.html",
        form=_form(form),
        tokens=tokens.tokens_of(db(), auth.actor()),
        issued=issued,
        now=utcnow(),
        keys_unlocked=auth.school_keys() is not None,
    ), status


@bp.route("", methods=["GET"])
@auth.requires(Permission.MANAGE_API_TOKENS)
def index() -> Any:
    return _page(_form())


@bp.route("", methods=["POST"])
@auth.requires(Permission.MANAGE_API_TOKENS)
@auth.recently_confirmed
def create() -> Any:
    form = _form(TokenForm())
    if not form.validate_on_submit():
        also_checked(
            form,
            lambda: tokens.check_token_request(
                auth.actor(),
                form.name.data or "",
                form.scopes.data or [],
                form.expires_days.data or 0,
            ),
        )
        return _page(form, 422)
    try:
        with form_errors(form):
            issued = tokens.create_token(
                db(),
                auth.actor(),
                unlocked(auth.school_keys()),
                form.name.data or "",
                form.scopes.data or [],
                form.expires_days.data or 0,
            )
    except FormRejected as rejected:
        return _page(form, rejected.status)
    return _page(_form(), 201, issued)


@bp.route("/<uuid:token_id>/revoke", methods=["POST"])
@auth.requires(Permission.MANAGE_API_TOKENS)
def revoke(token_id: uuid.UUID) -> Any:
    token = tokens.revoke_token(db(), auth.actor(), token_id)
    flash(f"The token '{token.name}' was revoked: it no longer works.", "info")
    return redirect(url_for("tokens.index"), 303)
