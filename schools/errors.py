"""Domain exceptions. Services raise these; the hub maps them to HTTP statuses in
one place (network/errors.py) and the CLI to exit code 2."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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


class InvalidInputs(InvalidInput):
    """Several fields refused at once: a form shows every message beside its
    field, so a person fixes everything in one round (issue 17)."""

    def __init__(self, problems: list[InvalidInput]) -> None:
        flat = [p for problem in problems for p in _flatten(problem)]
        summary = flat[0].message if len(flat) == 1 else f"{len(flat)} fields need attention."
        super().__init__(summary, field=flat[0].field)
        self.problems = tuple(flat)


def _flatten(problem: InvalidInput) -> tuple[InvalidInput, ...]:
    return problem.problems if isinstance(problem, InvalidInputs) else (problem,)


class Problems:
    """Collects what several independent checks refuse, then raises them together."""

    def __init__(self) -> None:
        self.found: list[InvalidInput] = []

    def add(self, problem: InvalidInput) -> None:
        self.found.append(problem)

    def check(self, default: T, check: Callable[[], T]) -> T:
        """``check()``'s value, or ``default`` with its refusal kept for later."""
        try:
            return check()
        except InvalidInput as problem:
            self.add(problem)
            return default

    def fields(self) -> set[str | None]:
        return {p.field for found in self.found for p in _flatten(found)}

    def raise_any(self) -> None:
        if self.found:
            raise InvalidInputs(self.found)
