"""The JSON API (/api/v1) and its API tokens.

- ``views`` (and ``member_views``, a school's people): the endpoints, each
  declaring its contract (``contract``): the models of what it takes
  (``inputs``) and answers (``documents``, ``membership``), made of the kinds
  of field in ``fields``; ``openapi`` writes /api/v1/openapi.json from them
  (and ``audit_contract``, for network/audit/api.py's views).
- ``gate``: authentication by token or session, scopes, rate limits;
  ``idempotency``: Idempotency-Key. Errors are RFC 9457 problem documents
  (network/problems.py).
- ``pages``: where members make and revoke tokens; ``cli``: ``alertnet token``.
  The command-line client, ``alertnet client``, is network/client/.

The tokens themselves (custody, checks) are schools/tokens.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    # Here, not above: `alertnet client` imports this package without Flask.
    from network import auth
    from network.api import (
        gate,
        member_views,  # noqa: F401  (puts its operations on views.bp)
        pages,
        views,
    )
    from network.api import home as _home  # noqa: F401  (its routes are on views.bp)
    from network.extensions import csrf

    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    # The gate checks CSRF itself, for session-authenticated unsafe requests
    # only: a bearer token cannot be sent by a browser cross-site.
    csrf.exempt(views.bp)
    auth.gate_blueprint(views.bp.name, gate.gate)
    # Runs before network/db.py's commit (after_request runs newest first).
    app.after_request(gate.attribute_to_token)
