"""``create_app()``: the one place the hub is wired (network/__init__.py calls it)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from crypto import custody
from network import (
    alerts,
    api,
    audit,
    auth,
    clock,
    confirmations,
    dashboard,
    db,
    errors,
    notifications,
    operations,
    security,
)
from network.extensions import csrf, limiter, rate_limit_storage_uri
from network.settings import Settings
from network.text import indefinite
from network.views import admin, cluster, factors, school
from network.views import auth as auth_views
from schools import policy
from schools.policy import Permission

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _asset_folder(name: str) -> str:
    """Templates and static files live at the top of the project; an installed
    copy carries them inside the package (see pyproject.toml)."""
    beside = PROJECT_ROOT / name
    return str(beside if beside.is_dir() else Path(__file__).resolve().parent / name)


def create_app(settings: Settings | None = None) -> Flask:
    """Build the hub. Everything is wired here and nowhere else."""
    settings = settings or Settings.from_env()
    app = Flask(
        "network",
        template_folder=_asset_folder("templates"),
        static_folder=_asset_folder("static"),
        instance_path=str(settings.instance_path),
    )
    app.config.update(
        ALERTNET=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        MAX_FORM_MEMORY_SIZE=settings.max_form_bytes,
        SESSION_COOKIE_NAME="alertnet_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.https,
        PERMANENT_SESSION_LIFETIME=settings.session_lifetime,
        PREFERRED_URL_SCHEME="https" if settings.https else "http",
        WTF_CSRF_TIME_LIMIT=None,  # the token is tied to the session, which expires
        WTF_CSRF_SSL_STRICT=settings.https,
        RATELIMIT_STORAGE_URI=rate_limit_storage_uri(settings.ratelimit_storage_uri),
        RATELIMIT_HEADERS_ENABLED=True,
    )
    logging.getLogger("alertnet").setLevel(settings.log_level)
    custody.set_hashing_budget(
        custody.HashingBudget(settings.password_hashing_mib * 1024, wait_seconds=10.0)
    )

    # First: its body limit must apply before anything (CSRF) reads the form.
    if settings.proxy_hops:
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    security.init_app(app, settings.https)
    db.init_app(app, settings.database_url)
    csrf.init_app(app)
    limiter.init_app(app)
    auth.init_app(app)
    confirmations.init_app(app)  # after the sign-in gate: asks only those who may act
    errors.init_app(app)

    app.register_blueprint(auth_views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(cluster.bp)
    app.register_blueprint(school.bp)
    app.register_blueprint(factors.bp)
    alerts.init_app(app)
    notifications.init_app(app)
    dashboard.init_app(app)
    audit.init_app(app)
    api.init_app(app)
    operations.init_app(app)  # readiness, metrics, request ids

    clock.init_app(app)
    app.add_template_filter(indefinite, "indefinite")
    app.add_template_global(settings.invitation_link, "invitation_link")

    @app.context_processor
    def _globals() -> dict[str, object]:
        member = auth.current_member()
        return {
            "current_member": member,
            "demo": settings.demo,
            # What the page offers is what schools/policy.py allows.
            "may": lambda permission: policy.may(member, permission),
            "Permission": Permission,
        }

    return app
