"""What every ``alertnet`` command shares: bad input exits with status 2 and a
one-line message, and a command's writes are one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from network.db import own_transaction
from schools.errors import DomainError


class BadInput(click.ClickException):
    exit_code = 2

    def format_message(self) -> str:
        return self.message


@contextmanager
def transaction() -> Iterator[Session]:
    """One transaction per command; a domain error becomes exit code 2."""
    try:
        with own_transaction() as session:
            yield session
    except DomainError as error:
        raise BadInput(error.message) from None
