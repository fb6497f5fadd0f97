"""Reading JSON bodies and query strings into typed values, naming every field
that is wrong. Nothing here decides what is allowed (the services do); it
checks shapes and types, so a service never sees a list where it wants text.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import date, time
from typing import Any

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from network.bounds import whole_number
from network.problems import FieldError, ValidationFailed
from network.text import unstorable
from schools.errors import InvalidInput

_MISSING = object()
# A time of day as the API writes it (network/api/openapi.py): 24-hour HH:MM.
TIME_OF_DAY = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
_HOURS_MINUTES = re.compile(TIME_OF_DAY)


class Fields:
    """Typed access to a JSON object's members or a query string's parameters;
    problems are collected and raised together by ``done()``."""

    def __init__(
        self, values: Mapping[str, Any], *, status: int, where: str = "", strict: bool = True
    ) -> None:
        self.values = values
        self.status = status
        self.where = where
        self.strict = strict
        self.errors: list[FieldError] = []
        self._read: set[str] = set()

    def name(self, member: str) -> str:
        return f"{self.where}{member}"

    def fail(self, member: str, message: str) -> None:
        self.errors.append(FieldError(self.name(member), message))

    def _get(self, member: str) -> Any:
        self._read.add(member)
        return self.values.get(member, _MISSING)

    def has(self, member: str) -> bool:
        return member in self.values

    def text(self, member: str, *, limit: int, required: bool = False, default: str = "") -> str:
        value = self._get(member)
        if value is _MISSING or value is None:
            if required:
                self.fail(member, f"'{member}' is required.")
            return default
        if not isinstance(value, str):
            self.fail(member, f"'{member}' must be a string.")
            return default
        refused = unstorable(value)
        if refused is not None:
            self.fail(member, f"'{member}' must not contain {refused}.")
            return default
        if len(value) > limit:
            self.fail(member, f"'{member}' must be at most {limit:,} characters.")
            return default
        return value

    def choice(
        self, member: str, choices: Collection[str], *, required: bool = False, default: str = ""
    ) -> str:
        value = self.text(member, limit=64, required=required, default=default)
        if value and value not in choices:
            self.fail(member, f"'{member}' must be one of: {', '.join(sorted(choices))}.")
            return default
        return value

    def boolean(self, member: str, *, default: bool = False) -> bool:
        value = self._get(member)
        if value is _MISSING or value is None:
            return default
        if self.status == 400 and isinstance(value, str):  # a query string
            if value in ("true", "1"):
                return True
            if value in ("false", "0"):
                return False
        if not isinstance(value, bool):
            self.fail(member, f"'{member}' must be true or false.")
            return default
        return value

    def integer(self, member: str, *, minimum: int, maximum: int, default: int) -> int:
        value = self._get(member)
        if value is _MISSING or value is None or value == "":
            return default
        if isinstance(value, str):  # a query string's; refused just below if not a number
            with suppress(InvalidInput):
                value = whole_number(value, member)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(member, f"'{member}' must be a whole number.")
            return default
        if not minimum <= value <= maximum:
            self.fail(member, f"'{member}' must be from {minimum} to {maximum}.")
            return default
        return value

    def identifier(self, member: str, *, required: bool = False) -> uuid.UUID | None:
        value = self.text(member, limit=64, required=required)
        if not value:
            return None
        try:
            return uuid.UUID(value)
        except ValueError:
            self.fail(member, f"'{member}' must be an id like 3f2b1c9e-....")
            return None

    def _list(self, member: str, limit: int) -> list[Any]:
        value = self._get(member)
        if value is _MISSING or value is None:
            return []
        if not isinstance(value, list):
            self.fail(member, f"'{member}' must be a list.")
            return []
        if len(value) > limit:
            self.fail(member, f"'{member}' has at most {limit} items.")
            return []
        return value

    def identifiers(self, member: str, *, limit: int) -> tuple[uuid.UUID, ...]:
        found = []
        for index, value in enumerate(self._list(member, limit)):
            try:
                if not isinstance(value, str):
                    raise ValueError
                found.append(uuid.UUID(value))
            except ValueError:
                self.fail(f"{member}[{index}]", "Each item must be an id like 3f2b1c9e-....")
        return tuple(dict.fromkeys(found))

    def choices(self, member: str, choices: Collection[str], *, limit: int) -> tuple[str, ...]:
        found = []
        for index, value in enumerate(self._list(member, limit)):
            if not isinstance(value, str) or value not in choices:
                self.fail(
                    f"{member}[{index}]", f"Each item must be one of: {', '.join(sorted(choices))}."
                )
            else:
                found.append(value)
        return tuple(dict.fromkeys(found))

    def objects(self, member: str, *, limit: int) -> Iterator[tuple[int, Fields]]:
        for index, value in enumerate(self._list(member, limit)):
            if not isinstance(value, dict):
                self.fail(f"{member}[{index}]", "Each item must be an object.")
                continue
            nested = Fields(value, status=self.status, where=self.name(f"{member}[{index}]."))
            yield index, nested
            self.errors.extend(nested.unknown_members())
            self.errors.extend(nested.errors)

    def day(self, member: str) -> date | None:
        value = self.text(member, limit=10)
        if not value:
            return None
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(member, f"'{member}' must be a date like 2026-11-20.")
            return None

    def time_of_day(self, member: str) -> time | None:
        value = self.text(member, limit=5)
        if not value:
            return None
        if not _HOURS_MINUTES.fullmatch(value):
            self.fail(member, f"'{member}' must be a time of day like 07:30.")
            return None
        return time.fromisoformat(value)

    def unknown_members(self) -> list[FieldError]:
        if not self.strict:
            return []
        return [
            FieldError(self.name(member), f"'{member}' is not a field of this request.")
            for member in self.values
            if member not in self._read
        ]

    def done(self) -> None:
        problems = [*self.errors, *self.unknown_members()]
        if problems:
            raise ValidationFailed(problems, status=self.status)


def json_body(*, optional: bool = False) -> Fields:
    """The request's JSON object. 415 if it is not JSON, 400 if it does not
    parse, 422 if it is not an object. ``optional``: an empty body is ``{}``."""
    data = request.get_data(cache=True)
    if optional and not data.strip():
        return Fields({}, status=422)
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON, with Content-Type: application/json.")
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValidationFailed(
            [FieldError("body", "The body nests too deeply.")], status=400
        ) from None
    except ValueError as error:
        where = (
            f" (line {error.lineno}, column {error.colno})"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ValidationFailed(
            [FieldError("body", f"The body is not valid JSON{where}.")], status=400
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
    return Fields(value, status=422)


def query() -> Fields:
    """The query string: wrong values are a 400 naming the parameter; parameters
    this operation does not know are ignored."""
    return Fields(request.args, status=400, strict=False)


@contextmanager
def as_bad_request() -> Iterator[None]:
    """A service refusing a query parameter (an unknown platform, a bad cursor)
    is a 400 naming it, not a form to fix (422)."""
    try:
        yield
    except InvalidInput as error:
        raise ValidationFailed(
            [FieldError(error.field or "query", error.message)], status=400
        ) from None
