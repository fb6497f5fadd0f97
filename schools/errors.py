"""Domain exceptions. Services raise these; the hub maps them to HTTP statuses in
one place (network/errors.py) and the CLI to exit code 2."""

from __future__ import annotations


class DomainError(Exception):
    """Something the person asked for cannot be done; the message says why."""

    status = 400
    # Members an API problem document adds for this kind of error (RFC 9457 extensions).
    problem_extensions: dict[str, object] = {}

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404


class Forbidden(DomainError):
    status = 403


class Conflict(DomainError):
    status = 409


class InvitationUnusable(DomainError):
    """Unknown, expired, already used or withdrawn: each said plainly."""

    status = 410


class SignInFailed(DomainError):
    status = 401


class KeysLocked(DomainError):
    """The action needs the school's keys and this session does not hold them."""

    status = 403


class LogIntegrityError(DomainError):
    """The stored audit log is not what it should be: a row is missing or malformed."""

    status = 500
