"""The hub's side of the audit trail; the log itself (tables, appends, proofs,
verification) is schools/audit/.

- ``signer``: the hub's checkpoint key and checkpoints signed on demand;
  ``receipts``: proof for a sender that their action is in the log;
- ``search``: the filters and pages every reader of the log shares;
  ``restores``: the restores from backup that explain a checkpoint that no
  longer matches;
  ``documents``: the JSON shapes of entries and checkpoints;
- ``views`` the pages, ``forms`` their filters, ``export`` CSV and JSON
  downloads, ``api`` the JSON API, ``cli`` the ``alertnet audit`` commands.
"""

from __future__ import annotations

from flask import Flask

from network import auth
from network.api import gate
from network.audit import api, views
from network.extensions import csrf


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    # The API's gate authenticates tokens and checks CSRF itself, for
    # session-authenticated unsafe requests only (network/api/gate.py).
    csrf.exempt(api.bp)
    auth.gate_blueprint(api.bp.name, gate.gate)
