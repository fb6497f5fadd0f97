"""The API's gate: who is calling, and may they?

A request under the API's blueprints is authenticated by an API token
(``Authorization: Bearer <id.secret>``) or, failing that header, by the browser
session. Then the same checks as the pages: the view's declared permission
(schools.policy) and, for a token, the scope the view declares
(``policy.check_token_scope``). Refusals are problem documents: 401 (never a
redirect), 403. Deny by default: a view that declares no permission, or no
scope, is refused to every caller.

A session-authenticated unsafe request still needs its CSRF token; a bearer
request does not (a browser cannot attach that header cross-site).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, Response, abort, g, request
from flask_limiter.util import get_remote_address

from crypto.keys import SchoolKeys
from network import auth, security
from network.db import db, own_transaction
from network.extensions import csrf, limiter
from network.settings import current as settings
from schools import audit, policy, tokens
from schools.errors import KeysLocked
from schools.models import ApiToken, Member
from schools.policy import Scope
from schools.tokens import TokenRejected

F = TypeVar("F", bound=Callable[..., Any])

ANY_SCOPE = "any"  # the view needs no particular scope (e.g. "who am I")
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUTHENTICATED = "api_authenticated"


@dataclass
class TokenPrincipal:
    """A request made with an API token: it acts as the token's member."""

    token: ApiToken
    secret: str = field(repr=False)
    _keys: SchoolKeys | None = field(default=None, repr=False)
    _tried: bool = False

    @property
    def member(self) -> Member:
        return self.token.member

    def school_keys(self) -> SchoolKeys | None:
        if not self._tried:
            self._tried = True
            try:
                self._keys = tokens.unlock(db(), self.token, self.secret)
            except KeysLocked:
                self._keys = None
        return self._keys


def scoped(scope: Scope | str) -> Callable[[F], F]:
    """Declare the token scope a view needs (``ANY_SCOPE``: any token); the view
    also declares the member's permission (``auth.requires``)."""

    def mark(view: F) -> F:
        view._alertnet_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def _bearer() -> str | None:
    """The token in the Authorization header; None when there is no header."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise TokenRejected(
            "Send the token as 'Authorization: Bearer <token>'.", reason="malformed"
        )
    return credentials.strip()


def token_principal() -> TokenPrincipal | None:
    """The request's token, authenticated once per request (the rate limiter
    asks first); None without an Authorization header. TokenRejected otherwise."""
    if _AUTHENTICATED not in g:
        try:
            presented = _bearer()
            g.setdefault(
                _AUTHENTICATED,
                TokenPrincipal(*tokens.authenticate(db(), presented))
                if presented is not None
                else None,
            )
        except TokenRejected as rejected:
            g.setdefault(_AUTHENTICATED, rejected)
    outcome: TokenPrincipal | TokenRejected | None = g.get(_AUTHENTICATED)
    if isinstance(outcome, TokenRejected):
        raise outcome
    return outcome


def current_token() -> ApiToken | None:
    principal = g.get(_AUTHENTICATED)
    return principal.token if isinstance(principal, TokenPrincipal) else None


def principal_id() -> uuid.UUID:
    """Who the request is from, for what it keeps per caller: its token, or
    the member of a signed-in browser."""
    token = current_token()
    return token.id if token is not None else auth.actor().id


def rate_limit_key() -> str:
    """Who a request counts against: its token, its signed-in member, or its address."""
    try:
        principal = token_principal()
    except TokenRejected:
        principal = None
    if principal is not None:
        return f"token:{principal.token.id}"
    if request.headers.get("Authorization") is None:
        member = auth.current_member()
        if member is not None:
            return f"member:{member.id}"
    return f"ip:{get_remote_address()}"


def authenticate_or_refuse() -> tuple[TokenPrincipal | None, Member]:
    """The request's token and member, or its session's member; 401 otherwise."""
    try:
        principal = token_principal()
    except TokenRejected as rejected:
        _record_rejection(rejected)
        raise
    member = auth.current_member() if principal is None else principal.member
    if member is None:
        abort(401)
    if principal is not None:
        auth.act_as(principal)
    return principal, member


def gate(view: Callable[..., Any] | None) -> Any:
    """Registered with network.auth for the API's blueprints."""
    principal, member = authenticate_or_refuse()
    # Before anything reads the body (CSRF may read a form): only a token that
    # may post alerts sends evidence in a large JSON body.
    security.hold_body(
        may_send_evidence=principal is not None
        and Scope.ALERTS_WRITE.value in principal.token.scope_set
    )
    if principal is None and request.method not in _SAFE_METHODS:
        csrf.protect()
    needed = getattr(view, "_alertnet_permission", None)
    if needed is None:
        abort(403)  # deny by default: the view declared nothing
    if needed != "signed_in" and not policy.may(member, needed):
        abort(403, policy.refusal(member, needed) or "Your role may not do this.")
    if principal is not None:
        scope = getattr(view, "_alertnet_scope", None)
        if scope is None:
            abort(403)  # deny by default: no scope declared, no token may call it
        if scope != ANY_SCOPE:
            policy.check_token_scope(principal.token.scope_set, Scope(scope))
    return None


def _record_rejection(rejected: TokenRejected) -> None:
    """A refused token is a failed sign-in: committed on its own (design.md). A
    token that can no longer be used also loses its wraps now."""
    fields: dict[str, Any] = {"ip": get_remote_address(), "reason": rejected.reason}
    if rejected.token_id is not None:
        fields.update(object_type="api_token", object_id=rejected.token_id)
    session = g.get("db")
    if session is not None:
        session.rollback()
    with own_transaction() as own:
        audit.record(own, "token.rejected", **fields)
        if rejected.reason in ("expired", "orphaned") and rejected.token_id is not None:
            tokens.forget_expired(own, rejected.token_id)


def attribute_to_token(response: Response) -> Response:
    """Audit entries of a token's request name the token (after_request, before
    the request's commit): the member acted, through this token."""
    token = current_token()
    session = g.get("db")
    if token is not None and session is not None and response.status_code < 400:
        for entry in audit.pending(session):
            entry.detail = {**(entry.detail or {}), "token": str(token.id)}
    return response


class ApiBlueprint(Blueprint):
    """A blueprint of the API: no automatic OPTIONS answers (the API serves no
    cross-origin browsers), so a 405's Allow lists exactly what a route answers."""

    def add_url_rule(
        self,
        rule: str,
        endpoint: str | None = None,
        view_func: Callable[..., Any] | None = None,
        provide_automatic_options: bool | None = None,
        **options: Any,
    ) -> None:
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options=False, **options)


def _refused(response: Response) -> bool:
    return response.status_code == 401


def limit_blueprint(blueprint: Blueprint) -> None:
    """Rate limits of every API blueprint, counted together across them: each
    caller (token, member or address) its share, and, like sign-in, refused
    credentials per address (so guessing tokens is as slow as guessing passwords)."""
    limiter.shared_limit(lambda: settings().ratelimit_api, scope="api", key_func=rate_limit_key)(
        blueprint
    )
    limiter.shared_limit(
        lambda: settings().ratelimit_sign_in,
        scope="api-refused",
        key_func=get_remote_address,
        deduct_when=_refused,
    )(blueprint)
