"""Who is signed in, and the deny-by-default gate in front of every view.

Every view either is marked ``@public`` or declares the permission it needs
with ``@requires``; a view that declares neither is refused to everyone, so a
forgotten decorator fails closed. The decision itself is schools.policy's.

The JSON API's blueprints bring a gate of their own (network/api/gate.py): it
also accepts API tokens, answers with problem documents instead of redirects,
and checks token scopes on top of the same permissions. A token-authenticated
request acts as the token's member: ``act_as`` makes ``current_member()`` and
``school_keys()`` answer for it instead of any session cookie sent along.
"""

from __future__ import annotations

import base64
import functools
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user

from crypto.keys import CredentialKey, SchoolKeys
from network.db import db
from network.settings import current as current_settings
from schools import accounts, factors, policy, session_correlation
from schools.db import utcnow
from schools.models import LoginSession, Member, SessionState
from schools.policy import Permission

F = TypeVar("F", bound=Callable[..., Any])
login_manager = LoginManager()
login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to continue."
login_manager.session_protection = "basic"

_VAULT_KEY = "vk"
# "school id:generation" of the bundle the session holds (not secret).
_KEYS_HELD = "kg"
KEYS_CHANGED = "Your school's keys changed: sign in again."
_PRINCIPAL = "alertnet_principal"
# Blueprint name -> its own gate, called with the view instead of the one below.
_BLUEPRINT_GATES: dict[str, Callable[[Callable[..., Any] | None], Any]] = {}


class Principal(Protocol):
    """Someone acting without a browser session: an API token's member."""

    @property
    def member(self) -> Member: ...

    def school_keys(self) -> SchoolKeys | None: ...


def gate_blueprint(name: str, gate: Callable[[Callable[..., Any] | None], Any]) -> None:
    """Let blueprint ``name`` authenticate and authorise its views itself. Its
    gate must deny by default like this one."""
    _BLUEPRINT_GATES[name] = gate


def act_as(principal: Principal) -> None:
    g.setdefault(_PRINCIPAL, principal)


class SignedInMember(UserMixin):  # type: ignore[misc]
    """The flask-login user: one login session of one member.

    A session that still waits for its second factor is not authenticated:
    every check of ``is_authenticated`` (both gates, ``current_member``,
    ``school_keys``) refuses it. Only views marked ``during`` that state see it,
    through ``waiting_login``."""

    def __init__(self, login: LoginSession, token: str) -> None:
        self.login = login
        self.member: Member = login.member
        self._token = token

    @property
    def is_authenticated(self) -> bool:
        return self.login.state_enum is SessionState.COMPLETE

    def get_id(self) -> str:
        return self._token


@login_manager.user_loader  # type: ignore[untyped-decorator]  # flask-login ships no types
def _load(token: str) -> SignedInMember | None:
    login = accounts.resume_session(db(), token)
    return SignedInMember(login, token) if login is not None else None


def public(view: F) -> F:
    view._alertnet_public = True  # type: ignore[attr-defined]
    return view


def during(*states: SessionState) -> Callable[[F], F]:
    """Let a session in these waiting states reach the view (the second-factor
    and enrolment pages); everything else refuses them."""

    def mark(view: F) -> F:
        view._alertnet_during = frozenset(states)  # type: ignore[attr-defined]
        return view

    return mark


def waiting_login() -> LoginSession | None:
    """The cookie's login session whatever its state, for the pages that
    finish a sign-in; None when nobody has even given a password."""
    user = current_user._get_current_object() if current_user else None
    return user.login if isinstance(user, SignedInMember) else None


def _waiting_redirect(login: LoginSession) -> Any:
    if login.state_enum is SessionState.ENROL_PENDING:
        return redirect(url_for("factors.enrol"))
    return redirect(url_for("factors.second_factor"))


def recently_confirmed(view: F) -> F:
    """A dangerous action: the member must have given their password (and
    second factor) within the last few minutes (schools.factors.STEP_UP), or is
    sent to confirm it is them first, then back to the page they came from. A
    session setting up its first factor right after the password needs no more."""

    @functools.wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if needs_step_up(checked):
            flash("For your safety, confirm it is you before doing that.", "info")
            if request.method == "GET":
                back = safe_next(request.full_path.rstrip("?"))
            else:
                referrer = urlsplit(request.referrer or "")
                query = f"?{referrer.query}" if referrer.query else ""
                back = safe_next(referrer.path + query)
            return redirect(url_for("factors.confirm", next=back or ""), 303)
        return view(*args, **kwargs)

    checked._alertnet_step_up = True  # type: ignore[attr-defined]
    return checked  # type: ignore[return-value]


def needs_step_up(view: Callable[..., Any] | None) -> bool:
    """The view is a dangerous action (``recently_confirmed``) and the member
    has not confirmed it is them in the last few minutes."""
    if not getattr(view, "_alertnet_step_up", False):
        return False
    login = waiting_login()
    enrolling = login is not None and login.state_enum is SessionState.ENROL_PENDING
    return not enrolling and not factors.recently_confirmed(login, utcnow())


def requires(permission: Permission | None) -> Callable[[F], F]:
    """Declare what a view needs; ``None`` means any signed-in member."""

    def mark(view: F) -> F:
        view._alertnet_permission = permission or "signed_in"  # type: ignore[attr-defined]
        return view

    return mark


def init_app(app: Flask) -> None:
    login_manager.init_app(app)

    @app.before_request
    def _gate() -> Any:
        if request.endpoint is None:
            return None  # 404 follows
        view = app.view_functions.get(request.endpoint)
        if request.endpoint == "static" or getattr(view, "_alertnet_public", False):
            return None
        waiting = waiting_login()
        if waiting is not None and waiting.state_enum is not SessionState.COMPLETE:
            if waiting.state_enum in getattr(view, "_alertnet_during", ()):
                return None
            if request.blueprint not in _BLUEPRINT_GATES:
                return _waiting_redirect(waiting)
        own_gate = _BLUEPRINT_GATES.get(request.blueprint or "")
        if own_gate is not None:
            return own_gate(view)
        if not current_user.is_authenticated:
            if _keys_changed():
                session.clear()
                flash(KEYS_CHANGED, "info")
                return redirect(url_for(str(login_manager.login_view), next=request.full_path))
            return login_manager.unauthorized()
        needed = getattr(view, "_alertnet_permission", None)
        if needed is None:
            abort(403)  # deny by default: the view declared nothing
        if needed != "signed_in" and not policy.may(current_member(), needed):
            abort(403, policy.refusal(current_member(), needed))
        return None


def current_member() -> Member | None:
    principal: Principal | None = g.get(_PRINCIPAL)
    if principal is not None:
        return principal.member
    if not current_user.is_authenticated:
        return None
    member: Member = current_user.member
    return member


def actor() -> Member:
    member = current_member()
    if member is None:
        abort(401)
    return member


def sign_in(
    member: Member, credential: CredentialKey, state: SessionState = SessionState.COMPLETE
) -> accounts.SignedIn:
    """Start a login session for this request's browser and a fresh Flask
    session: nothing from before sign-in survives it. A session in a waiting
    ``state`` reaches only the second-factor pages until schools.factors
    finishes it."""
    signed = accounts.start_session(
        db(),
        member,
        credential,
        request.user_agent.string,
        lifetime=current_settings().session_lifetime,
        state=state,
    )
    _hold(signed)
    return signed


def renew_session(keys: SchoolKeys | None) -> None:
    """After the signed-in member's own action ended their sessions (a key
    rotation, a password change), carry on in a new one holding ``keys``."""
    signed = accounts.renew_session(
        db(),
        actor(),
        keys,
        request.user_agent.string,
        lifetime=current_settings().session_lifetime,
    )
    _hold(signed)
    g.school_keys = keys


def _hold(signed: accounts.SignedIn) -> None:
    """Put a session in this browser's cookie: its token, the key to its row
    and (to explain a later ending) the generation of the keys it holds."""
    session.clear()
    login_user(SignedInMember(signed.login, signed.token))
    session[_VAULT_KEY] = base64.urlsafe_b64encode(signed.vault_key).decode()
    if signed.login.school_id is not None and signed.login.generation is not None:
        session[_KEYS_HELD] = f"{signed.login.school_id}:{signed.login.generation}"
    session.permanent = True


def sign_out() -> None:
    if waiting_login() is not None:
        accounts.end_session(db(), current_user.get_id())
    logout_user()
    session.clear()


def _keys_changed() -> bool:
    """This browser's session ended because its school's keys moved on."""
    held = session.get(_KEYS_HELD)
    if not isinstance(held, str) or ":" not in held:
        return False
    school_id, _, generation = held.partition(":")
    try:
        return accounts.keys_changed_since(db(), uuid.UUID(school_id), int(generation))
    except ValueError:
        return False


def _held_keys(login: LoginSession) -> SchoolKeys | None:
    raw = session.get(_VAULT_KEY)
    key = base64.urlsafe_b64decode(raw) if raw else b""
    return accounts.session_keys(login, key) if key else None


def _with_correlation(login: LoginSession, keys: SchoolKeys | None) -> SchoolKeys | None:
    """The session's keys, carrying the keeper of the correlation keys it
    seals under the same cookie key (schools/session_correlation.py)."""
    if keys is None:
        return None
    vault_key = base64.urlsafe_b64decode(session[_VAULT_KEY])
    return session_correlation.carrying(
        keys, session_correlation.SessionCorrelation(login, vault_key)
    )


def finish_sign_in(login: LoginSession, how: str) -> list[Member]:
    """The waiting session's factor was accepted: it becomes a full session.
    The keys it holds were sealed at the password: no password hashing again,
    and they are opened only if a colleague waits to be confirmed with them."""
    return factors.complete_sign_in(db(), login, lambda: _held_keys(login), how)


def school_keys() -> SchoolKeys | None:
    """The school's current bundle for this request, or None if locked."""
    principal: Principal | None = g.get(_PRINCIPAL)
    if principal is not None:
        return principal.school_keys()
    if "school_keys" not in g:
        keys = _held_keys(current_user.login) if current_user.is_authenticated else None
        g.school_keys = _with_correlation(current_user.login, keys)
    keys_: SchoolKeys | None = g.school_keys
    return keys_


def safe_next(target: str | None) -> str | None:
    """Only redirect to a path on this hub (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


# Their home is what needs their attention (network/alerts/attention.py).
_ATTENTION_HOME = frozenset({"head", "dsl", "deputy_dsl"})


def has_attention_home(member: Member) -> bool:
    """Heads and safeguarding leads land on "needs your attention" (/home)."""
    return member.role in _ATTENTION_HOME


def home_url(member: Member) -> str:
    if has_attention_home(member):
        return url_for("home.attention")
    return {
        "hub_admin": url_for("admin.clusters"),
        "coordinator": url_for("cluster.schools"),
    }.get(member.role, url_for("school.overview"))


def client_ip() -> str:
    return request.remote_addr or "unknown"
