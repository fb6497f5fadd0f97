"""The alertnet hub: a Flask application built by ``create_app()``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from network.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Build the hub (network/factory.py wires it); gunicorn calls this."""
    # Imported when called: `alertnet-client` imports this package and must load
    # neither Flask nor the hub (tests/network/test_client.py checks it).
    from network import factory

    return factory.create_app(settings)
