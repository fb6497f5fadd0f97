"""The JSON API (/api/v1) and its API tokens.

- ``views``: the endpoints; ``gate``: authentication by token or session,
  scopes, rate limits; ``openapi``: the document. Errors are RFC 9457 problem
  documents (network/problems.py).
- ``pages``: where members make and revoke tokens; ``cli``: ``alertnet token``.
  The command-line client, ``alertnet client``, is network/client/.

The tokens themselves (custody, checks) are schools/tokens.py.
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
