"""Second factors' pages: finishing a sign-in with a code, a backup code or a
passkey; setting factors up and removing them; confirming one's identity
before a dangerous action; a head's reset of a colleague's factors; the
coordinator's rule of who must use one."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import segno
from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from crypto.factors import seal_key
from network import auth
from network.db import db, record_security_event
from network.errors import FormRejected, form_errors
from network.extensions import limiter
from network.forms import BackupCodeForm, ConfirmIdentityForm, FactorRuleForm, SecondFactorForm
from network.settings import current as _settings
from network.views import account_safety
from schools import factors, passkeys, throttle
from schools.db import utcnow
from schools.errors import DomainError
from schools.factors import FactorRefused
from schools.models import FactorKind, LoginSession, Member, Role, SessionState
from schools.policy import Permission

bp = Blueprint("factors", __name__)

_WAITING = SessionState.FACTOR_PENDING
_ENROLLING = SessionState.ENROL_PENDING


def _key() -> bytes:
    return seal_key(_settings().factor_seal_master)


def _login() -> LoginSession:
    login = auth.waiting_login()
    if login is None:
        abort(401)
    return login


def refused(login: LoginSession, error: FactorRefused) -> bool:
    """A refused code or passkey: audited on its own (the request rolls back)
    and counted against the session and the account. True when a waiting
    session was ended for it."""
    # Read before the rollback: afterwards the rows would be read again.
    login_hash, member = login.id_hash, login.member
    member_id = member.id
    record_security_event(
        "member.second_factor_refused",
        actor=member,
        object_type="member",
        object_id=member_id,
        reason=error.reason,
    )
    return account_safety.note_refused_factor(login_hash, member_id)


def _after_sign_in(member: Member) -> Any:
    account_safety.note_browser(member)
    target = auth.safe_next(request.args.get("next"))
    return redirect(target or auth.home_url(member), 303)


# --- finishing a sign-in ------------------------------------------------------------


@bp.route("/sign-in/second-factor", methods=["GET", "POST"])
@auth.during(_WAITING)
@limiter.limit(lambda: _settings().ratelimit_sign_in, methods=["POST"])
def second_factor() -> Any:
    login = _login()
    member = login.member
    form, backup = SecondFactorForm(prefix="app"), BackupCodeForm(prefix="backup")
    used = form if "app-code" in request.form else backup
    if request.method == "POST" and used.validate_on_submit():
        try:
            if used is form:
                factors.check_totp(db(), member, _key(), form.code.data or "", utcnow())
                how = "totp"
            else:
                factors.use_backup_code(db(), member, backup.backup_code.data or "", utcnow())
                how = "backup_code"
        except FactorRefused as error:
            if refused(login, error):
                auth.sign_out()
                flash("Too many codes were not right. Sign in again.", "error")
                return redirect(url_for("auth.sign_in"), 303)
            field = form.code if used is form else backup.backup_code
            field.errors = [error.message]
            return _second_factor_page(member, form, backup), 401
        auth.finish_sign_in(login, how)
        return _after_sign_in(member)
    status = 422 if (form.errors or backup.errors) else 200
    return _second_factor_page(member, form, backup), status


def _second_factor_page(member: Member, form: SecondFactorForm, backup: BackupCodeForm) -> str:
    """The code page, offering the kinds of factor the member has (a query
    only when the page is shown: an accepted code goes straight on)."""
    kinds = {f.kind_enum.value for f in factors.factors_of(db(), member)}
    return render_template("factors/second_factor.html", form=form, backup=backup, kinds=kinds)


def _passkey_answer() -> str:
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        abort(400, 'Send the passkey\'s answer as JSON: {"credential": {...}}.')
    return json.dumps(body["credential"])


def _passkey_refused(login: LoginSession, error: FactorRefused) -> Any:
    ended = refused(login, error)
    if ended and login.state_enum is _WAITING:
        auth.sign_out()
        return jsonify(error="Too many attempts were refused. Sign in again.", ended=True), 401
    return jsonify(error=error.message), 401 if login.state_enum is _WAITING else 422


@bp.route("/sign-in/second-factor/passkey/options", methods=["POST"])
@auth.during(_WAITING)
@limiter.limit(lambda: _settings().ratelimit_sign_in)
def passkey_sign_in_options() -> Any:
    login = _login()
    return jsonify(passkeys.authentication_options(db(), login, _settings().passkey_rp_id))


@bp.route("/sign-in/second-factor/passkey", methods=["POST"])
@auth.during(_WAITING)
@limiter.limit(lambda: _settings().ratelimit_sign_in)
def passkey_sign_in() -> Any:
    login = _login()
    settings = _settings()
    answer = _passkey_answer()
    try:
        passkeys.authenticate(
            db(), login, answer, settings.passkey_rp_id, settings.passkey_origin, utcnow()
        )
    except FactorRefused as error:
        return _passkey_refused(login, error)
    auth.finish_sign_in(login, "passkey")
    account_safety.note_browser(login.member)
    target = auth.safe_next(request.args.get("next"))
    return jsonify(redirect=target or auth.home_url(login.member))


# --- setting factors up -------------------------------------------------------------


@bp.route("/account/second-factors", methods=["GET"])
@auth.during(_ENROLLING)
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
def enrol() -> Any:
    login = _login()
    member = login.member
    return render_template(
        "factors/index.html",
        member=member,
        factors=factors.factors_of(db(), member),
        backup_left=factors.backup_codes_left(db(), member),
        required=factors.must_have_factor(member),
        enrolling=login.state_enum is _ENROLLING,
    )


def _qr(uri: str) -> Markup:
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2)
    return Markup(svg)  # noqa: S704 - segno's own SVG, made from our otpauth address


@bp.route("/account/second-factors/app", methods=["GET", "POST"])
@auth.during(_ENROLLING)
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@auth.recently_confirmed
def enrol_app() -> Any:
    login = _login()
    member = login.member
    enrolment = factors.start_totp(db(), member, _key())
    form = SecondFactorForm()
    status = 200
    if form.validate_on_submit():
        try:
            codes = factors.confirm_totp(db(), member, _key(), form.code.data or "", utcnow())
        except FactorRefused as error:
            refused(login, error)
            form.code.errors = [error.message]
            status = 422
            # The refusal rolled back the request: show the same set-up again.
            enrolment = factors.start_totp(db(), member, _key())
        else:
            if login.state_enum is _ENROLLING:
                auth.finish_sign_in(login, "enrolled")
                account_safety.note_browser(member)
            if codes:
                return render_template("factors/backup_codes.html", codes=codes, first=True)
            flash("Your authenticator app is set up.", "info")
            return redirect(url_for("factors.enrol"), 303)
    elif form.errors:
        status = 422
    return render_template(
        "factors/enrol_app.html",
        form=form,
        qr=_qr(enrolment.uri),
        secret=_base32(enrolment.secret),
        member=member,
    ), status


def _base32(secret: bytes) -> str:
    text = base64.b32encode(secret).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@bp.route("/account/second-factors/passkey/options", methods=["POST"])
@auth.during(_ENROLLING)
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@auth.recently_confirmed
def passkey_register_options() -> Any:
    login = _login()
    return jsonify(passkeys.registration_options(db(), login, _settings().passkey_rp_id))


@bp.route("/account/second-factors/passkey", methods=["POST"])
@auth.during(_ENROLLING)
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@auth.recently_confirmed
def passkey_register() -> Any:
    login = _login()
    settings = _settings()
    body = request.get_json(silent=True)
    name = body.get("name") if isinstance(body, dict) else None
    answer = _passkey_answer()
    try:
        first = passkeys.register(
            db(),
            login,
            answer,
            name if isinstance(name, str) else "",
            settings.passkey_rp_id,
            settings.passkey_origin,
            utcnow(),
        )
    except FactorRefused as error:
        return _passkey_refused(login, error)
    if login.state_enum is _ENROLLING:
        auth.finish_sign_in(login, "enrolled")
        account_safety.note_browser(login.member)
    if first:
        # The codes are made by the next page's button, in that response alone.
        return jsonify(redirect=url_for("factors.show_backup_codes"))
    flash("Your passkey is added.", "info")
    return jsonify(redirect=url_for("factors.enrol"))


@bp.route("/account/second-factors/new-backup-codes", methods=["GET"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
def show_backup_codes() -> Any:
    """After a first passkey: the button that makes the backup codes."""
    member = auth.actor()
    if not factors.has_factor(db(), member):
        return redirect(url_for("factors.enrol"), 303)
    return render_template(
        "factors/backup_codes.html",
        codes=None,
        first=factors.backup_codes_left(db(), member) == 0,
    )


@bp.route("/account/second-factors/backup-codes", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@auth.recently_confirmed
def new_backup_codes() -> Any:
    member = auth.actor()
    if not factors.has_factor(db(), member):
        flash("Set up a second factor first; backup codes come with it.", "error")
        return redirect(url_for("factors.enrol"), 303)
    first = not factors.had_backup_codes(db(), member)
    codes = factors.issue_backup_codes(db(), member)
    return render_template("factors/backup_codes.html", codes=codes, first=first)


@bp.route("/account/second-factors/<uuid:factor_id>/remove", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@auth.recently_confirmed
def remove(factor_id: uuid.UUID) -> Any:
    ended = factors.remove_factor(db(), auth.actor(), factor_id, auth.waiting_login())
    message = "The second factor was removed."
    if ended:
        message += f" Your {ended} other session(s) were signed out."
    flash(message, "info")
    return redirect(url_for("factors.enrol"), 303)


# --- confirming it is you -----------------------------------------------------------


@bp.route("/account/confirm", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@limiter.limit(lambda: _settings().ratelimit_sign_in, methods=["POST"])
def confirm() -> Any:
    login = _login()
    member = login.member
    form = ConfirmIdentityForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            with form_errors(form):
                factors.confirm_identity(
                    db(),
                    login,
                    form.password.data or "",
                    form.code.data or "",
                    _key(),
                    utcnow(),
                )
        except FormRejected as rejected:
            record_security_event(
                "member.identity_confirmation_refused",
                actor=member,
                object_type="member",
                object_id=member.id,
            )
            status = rejected.status
        else:
            flash("Thank you. Now do what you were doing again.", "info")
            return redirect(auth.safe_next(form.next.data) or url_for("auth.account"), 303)
    elif form.errors:
        status = 422
    return _confirm_page(form, member, status)


def _confirm_page(form: ConfirmIdentityForm, member: Member, status: int) -> Any:
    kinds = {f.kind_enum for f in factors.factors_of(db(), member)}
    return render_template(
        "factors/confirm.html",
        form=form,
        has_factor=bool(kinds),
        has_app=FactorKind.TOTP in kinds,
        has_passkey=FactorKind.PASSKEY in kinds,
    ), status


@bp.route("/account/confirm/passkey/options", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@limiter.limit(lambda: _settings().ratelimit_sign_in)
def confirm_passkey_options() -> Any:
    return jsonify(passkeys.authentication_options(db(), _login(), _settings().passkey_rp_id))


@bp.route("/account/confirm/passkey", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
@limiter.limit(lambda: _settings().ratelimit_sign_in)
def confirm_passkey() -> Any:
    login = _login()
    settings = _settings()
    body = request.get_json(silent=True)
    password = body.get("password") if isinstance(body, dict) else None
    answer = _passkey_answer()
    try:
        with form_errors(ConfirmIdentityForm(formdata=None)):
            passkeys.confirm_identity(
                db(),
                login,
                password if isinstance(password, str) else "",
                answer,
                settings.passkey_rp_id,
                settings.passkey_origin,
                utcnow(),
            )
    except FormRejected as rejected:
        cause = rejected.__cause__
        if isinstance(cause, FactorRefused):
            return _passkey_refused(login, cause)
        record_security_event(
            "member.identity_confirmation_refused",
            actor=login.member,
            object_type="member",
            object_id=login.member_id,
        )
        message = cause.message if isinstance(cause, DomainError) else "Not confirmed."
        return jsonify(error=message), rejected.status
    target = auth.safe_next(request.args.get("next"))
    return jsonify(redirect=target or url_for("auth.account"))


# --- a head's reset, the coordinator's rule ------------------------------------------


def _back_to_members(member: Member) -> str:
    """Where the reset page returns: the school's page for its head, the
    cluster's page of that school for the coordinator."""
    if auth.actor().role_enum is Role.COORDINATOR:
        return url_for("cluster.school", school_id=member.school_id)
    return url_for("school.overview")


@bp.route("/school/members/<uuid:member_id>/reset-second-factor", methods=["GET"])
@auth.requires(None)
def confirm_reset(member_id: uuid.UUID) -> Any:
    member = factors.member_to_reset(db(), auth.actor(), member_id)
    return render_template(
        "factors/confirm_reset.html", member=member, back=_back_to_members(member)
    )


@bp.route("/school/members/<uuid:member_id>/reset-second-factor", methods=["POST"])
@auth.requires(None)
@auth.recently_confirmed
def reset(member_id: uuid.UUID) -> Any:
    member = factors.member_to_reset(db(), auth.actor(), member_id)
    factors.reset_factors(db(), auth.actor(), member_id)
    flash(
        f"{member.name}'s second factors were removed and their sessions ended. They set "
        "one up again when they next sign in.",
        "info",
    )
    return redirect(_back_to_members(member), 303)


@bp.route("/members/<uuid:member_id>/unlock", methods=["POST"])
@auth.requires(None)
def unlock(member_id: uuid.UUID) -> Any:
    member = throttle.unlock(db(), auth.actor(), member_id)
    flash(f"{member.name} can sign in again.", "info")
    back = auth.safe_next(request.form.get("next"))
    return redirect(back or auth.home_url(auth.actor()), 303)


@bp.route("/cluster/second-factors", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_SCHOOLS)
@auth.recently_confirmed
def cluster_rule() -> Any:
    member = auth.actor()
    cluster = member.cluster
    if cluster is None:
        abort(404)
    form = FactorRuleForm(leaders=cluster.second_factor_leaders, staff=cluster.second_factor_staff)
    if form.validate_on_submit():
        factors.set_cluster_rule(
            db(), member, cluster, leaders=bool(form.leaders.data), staff=bool(form.staff.data)
        )
        flash("Who must use a second factor is saved.", "info")
        return redirect(url_for("factors.cluster_rule"), 303)
    return render_template("factors/cluster_rule.html", form=form, cluster=cluster), (
        422 if form.errors else 200
    )
