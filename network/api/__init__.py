"""The JSON API (/api/v1), its API tokens and its command-line client.

- ``views``: the endpoints; ``gate``: authentication by token or session,
  scopes, rate limits; ``problems``: RFC 9457 errors; ``openapi``: the document.
- ``pages``: where members make and revoke tokens; ``cli``: ``alertnet token``;
  ``client``: ``alertnet client``, which talks to a hub over HTTP.

The tokens themselves (model, custody, checks) are schools/tokens.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask


def init_app(app: Flask) -> None:
    from network import auth
    from network.api import gate, pages, views
    from network.extensions import csrf

    app.register_blueprint(views.bp)
    app.register_blueprint(pages.bp)
    # The gate checks CSRF itself, for session-authenticated unsafe requests
    # only: a bearer token cannot be sent by a browser cross-site.
    csrf.exempt(views.bp)
    auth.gate_blueprint(views.bp.name, gate.gate)
    # Runs before network/db.py's commit (after_request runs newest first).
    app.after_request(gate.attribute_to_token)
