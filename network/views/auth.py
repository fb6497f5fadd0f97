"""Signing in and out, accepting invitations, recovery and one's own account."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm

from network import auth
from network.db import db, record_security_event
from network.errors import FormRejected, also_checked, form_errors
from network.extensions import limiter
from network.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    RecoverForm,
    SignInForm,
    SignOutEverywhereForm,
)
from network.settings import current as _settings
from network.views import account_safety
from schools import accounts, factors, invitations, throttle
from schools.db import utcnow
from schools.errors import SignInFailed
from schools.models import SessionState
from schools.policy import Permission
from schools.throttle import SignInThrottled

bp = Blueprint("auth", __name__)


def _throttled(action: str, template: str, form: type[FlaskForm]) -> Any:
    """A limit's breach: recorded on its own (the request's transaction rolls
    back) and answered with the page and its "too many attempts" notice."""

    def on_breach(_limit: Any) -> Any:
        record_security_event(action, ip=auth.client_ip())
        return render_template(template, form=form(), throttled=True), 429

    return on_breach


@bp.route("/", methods=["GET"])
@auth.requires(None)
def home() -> Any:
    return redirect(auth.home_url(auth.actor()))


@bp.route("/healthz", methods=["GET"])
@auth.public
def healthz() -> Any:
    return {"status": "ok"}


@bp.route("/sign-in", methods=["GET", "POST"])
@auth.public
@limiter.limit(
    lambda: _settings().ratelimit_sign_in,
    methods=["POST"],
    on_breach=_throttled("member.sign_in_throttled", "sign_in.html", SignInForm),
)
def sign_in() -> Any:
    form = SignInForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        email = form.email.data or ""
        try:
            # A waiting or locked account is refused before any password hashing.
            known = throttle.check(db(), email, utcnow())
        except SignInThrottled as throttled:
            record_security_event("member.sign_in_throttled", ip=auth.client_ip(), per="account")
            form.email.errors = [throttled.message]
            return render_template("sign_in.html", form=form), 429
        try:
            member, credential = accounts.authenticate(
                db(),
                email,
                form.password.data or "",
                _settings().password_params,
                member=known,
            )
        except SignInFailed as failed:
            # Committed on its own: the request's rollback must not erase it.
            record_security_event("member.sign_in_failed", ip=auth.client_ip())
            account_safety.note_wrong_password(email)
            form.email.errors = [failed.message]
            return render_template("sign_in.html", form=form), 401
        state = factors.state_after_password(db(), member)
        signed = auth.sign_in(member, credential, state)
        if state is not SessionState.COMPLETE:
            # The password alone opens nothing: the factor (or setting one up) next.
            target = (
                "factors.second_factor"
                if state is SessionState.FACTOR_PENDING
                else ("factors.enrol")
            )
            return redirect(url_for(target, next=auth.safe_next(form.next.data) or None))
        throttle.note_success(member)
        account_safety.note_browser(member)
        if signed.confirmed:
            flash(
                f"You confirmed {len(signed.confirmed)} new colleague(s): they can now read "
                "your school's alerts.",
                "info",
            )
        return redirect(auth.safe_next(form.next.data) or auth.home_url(member))
    status = 422 if form.errors else 200
    return render_template("sign_in.html", form=form), status


@bp.route("/sign-out", methods=["POST"])
@auth.public
def sign_out() -> Any:
    auth.sign_out()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.sign_in"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@auth.public
def accept(token: str) -> Any:
    invitation = invitations.open_invitation(db(), token)
    form = AcceptInvitationForm(name=invitation.name)
    if form.validate_on_submit():
        try:
            with form_errors(form):
                accepted = invitations.accept_invitation(
                    db(),
                    token,
                    form.name.data or "",
                    form.password.data or "",
                    form.confirm.data or "",
                    _settings().password_params,
                )
        except FormRejected as rejected:
            # 422 for what was entered; 410 if the invitation was used meanwhile.
            return render_template("accept.html", form=form, invitation=invitation), rejected.status
        auth.sign_in(
            accepted.member,
            accepted.credential,
            factors.state_after_password(db(), accepted.member),
        )
        if accepted.recovery_code:
            return render_template(
                "recovery_code.html",
                code=accepted.recovery_code,
                first=True,
                member=accepted.member,
            )
        flash("Welcome. Your account is ready.", "info")
        return redirect(auth.home_url(accepted.member))
    if form.errors:
        # The password's own rules too, so that every problem shows at once.
        also_checked(
            form,
            lambda: invitations.check_acceptance(
                invitation, form.name.data or "", form.password.data or "", form.confirm.data or ""
            ),
        )
    status = 422 if form.errors else 200
    return render_template("accept.html", form=form, invitation=invitation), status


@bp.route("/recover", methods=["GET", "POST"])
@auth.public
@limiter.limit(
    lambda: _settings().ratelimit_sign_in,
    methods=["POST"],
    on_breach=_throttled("member.recovery_throttled", "recover.html", RecoverForm),
)
def recover() -> Any:
    form = RecoverForm()
    if form.validate_on_submit():
        try:
            with form_errors(form):
                recovered = accounts.recover_head(
                    db(),
                    form.email.data or "",
                    form.code.data or "",
                    form.password.data or "",
                    form.confirm.data or "",
                    _settings().password_params,
                )
        except FormRejected:
            record_security_event("member.recovery_failed", ip=auth.client_ip())
            return render_template("recover.html", form=form), 422
        factors.clear_after_recovery(db(), recovered.member)
        auth.sign_in(
            recovered.member,
            recovered.credential,
            factors.state_after_password(db(), recovered.member),
        )
        return render_template(
            "recovery_code.html",
            code=recovered.new_recovery_code,
            first=False,
            member=recovered.member,
        )
    if form.errors:
        # The new password's rules too (the code is looked at only when the form is whole).
        also_checked(
            form,
            lambda: accounts.check_recovery_password(
                form.email.data or "", form.password.data or "", form.confirm.data or ""
            ),
        )
    return render_template("recover.html", form=form), 422 if form.errors else 200


@bp.route("/account", methods=["GET", "POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
def account() -> Any:
    form = ChangePasswordForm()
    member = auth.actor()
    if form.validate_on_submit():
        try:
            with form_errors(form):
                keys = accounts.change_password(
                    db(),
                    member,
                    form.current.data or "",
                    form.password.data or "",
                    form.confirm.data or "",
                    _settings().password_params,
                )
        except FormRejected:
            return _account_page(form, SignOutEverywhereForm(formdata=None), 422)
        auth.renew_session(keys)
        flash("Your password has been changed, and your other devices are signed out.", "info")
        return redirect(url_for("auth.account"))
    if form.errors:
        # The new password's own rules too, so that every problem shows at once.
        also_checked(
            form,
            lambda: accounts.check_new_password_of(
                member, form.password.data or "", form.confirm.data or ""
            ),
        )
    return _account_page(form, SignOutEverywhereForm(formdata=None), 422 if form.errors else 200)


def _account_page(form: ChangePasswordForm, everywhere: SignOutEverywhereForm, status: int) -> Any:
    member = auth.actor()
    return render_template(
        "account.html",
        form=form,
        everywhere=everywhere,
        member=member,
        second_factors=factors.factors_of(db(), member),
        factor_required=factors.must_have_factor(member),
    ), status


@bp.route("/account/sign-out-everywhere", methods=["POST"])
@auth.requires(Permission.MANAGE_OWN_ACCOUNT)
def sign_out_everywhere() -> Any:
    everywhere = SignOutEverywhereForm()
    if not everywhere.validate_on_submit():
        return _account_page(ChangePasswordForm(formdata=None), everywhere, 422)
    try:
        with form_errors(everywhere):
            accounts.end_all_sessions(
                db(), auth.actor(), everywhere.password.data or "", _settings().password_params
            )
    except FormRejected:
        return _account_page(ChangePasswordForm(formdata=None), everywhere, 422)
    auth.sign_out()
    flash("You have been signed out on every device.", "info")
    return redirect(url_for("auth.sign_in"))
