"""The JSON API (/api/v1), its API tokens and its command-line client.

- ``views``: the endpoints, each declaring its contract (``contract``): the
  models of what it takes (``inputs``) and answers (``documents``), made of
  the kinds of field in ``fields``; ``openapi`` writes /api/v1/openapi.json
  from them (and ``audit_contract``, for network/audit/api.py's views).
- ``gate``: authentication by token or session, scopes, rate limits;
  ``problems``: RFC 9457 errors; ``idempotency``: Idempotency-Key.
- ``pages``: where members make and revoke tokens; ``cli``: ``alertnet token``;
  ``client``: ``alertnet client``, which talks to a hub over HTTP.

The tokens themselves (model, custody, checks) are schools/tokens.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    # Here, not above: `alertnet client` imports this package without Flask.
    from network import auth
    from network.api import gate, pages, views
    from network.audit import api as audit_api
    from network.extensions import csrf

    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    for blueprint in (views.bp, audit_api.bp):
        # The gate checks CSRF itself, for session-authenticated unsafe requests
        # only: a bearer token cannot be sent by a browser cross-site.
        csrf.exempt(blueprint)
        auth.gate_blueprint(blueprint.name, gate.gate)
    # Runs before network/db.py's commit (after_request runs newest first).
    app.after_request(gate.attribute_to_token)
