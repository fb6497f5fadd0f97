"""The kinds of field the API's models are made of, and what a refusal says.

Each kind says in one place what it accepts, what it becomes (a ``uuid.UUID``,
a ``date``), how it is written back in JSON and how /api/v1/openapi.json
describes it. A model's field is ``Annotated[python type, Kind(...)]``:

    title: Annotated[str, CleanText(MAX_TITLE, "title", required=True)]

``field_errors`` turns pydantic's errors into the API's field errors, worded
as before models existed (``"'title' is required."``), each named by its place
in the body (``links[0].seen_on``) so a client can show it beside its field.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, model_validator
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from network.alerts.content import clean_text
from network.bounds import whole_number
from network.problems import FieldError
from network.text import unstorable
from schools.audit.leaf import timestamp
from schools.errors import InvalidInput

# A time of day as the API writes it: 24-hour HH:MM.
HOURS_MINUTES = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
# The document names a vocabulary kept in the database (the platforms) with this
# key; network/api/openapi.py writes in its current codes.
VOCABULARY = "x-alertnet-vocabulary"


class Body(BaseModel):
    """A request's JSON body: its fields and nothing else, each of the right type.
    A field sent as ``null`` is a field left out; a member that is no field is
    refused, ``null`` or not."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)
    # Whether the operation takes no body at all as ``{}``.
    may_be_empty: ClassVar[bool] = False

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if isinstance(data, dict):
            return {
                name: value
                for name, value in data.items()
                if value is not None or name not in cls.model_fields
            }
        return data


class Query(BaseModel):
    """A query string's parameters. An empty one (``?status=``) is one left out;
    parameters the operation does not know are ignored (contract.py)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Document(BaseModel):
    """What the API answers with, read from the services' results: a document
    validated from a row reads its attributes (``from_attributes``)."""

    model_config = ConfigDict(
        strict=True, extra="forbid", frozen=True, from_attributes=True, validate_by_name=True
    )

    @classmethod
    def read(cls, row: object, **given: Any) -> Self:
        """The document of ``row``'s attributes, with ``given`` values for the
        fields the row does not hold."""
        read = {
            name: getattr(
                row, info.validation_alias if isinstance(info.validation_alias, str) else name
            )
            for name, info in cls.model_fields.items()
            if name not in given
        }
        return cls.model_validate({**read, **given})


def _refuse(kind: str, **context: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, kind.replace("_", " "), context)


def refused(error: InvalidInput, *, part: str | None = None) -> PydanticCustomError:
    """A service's refusal of a value, named at the field it is about (or at
    ``part`` of it: ``url`` of a link)."""
    return _refuse("refused", message=error.message, part=part)


class Kind:
    """A kind of field: how it is checked, written and described."""

    def check(self, value: Any, info: ValidationInfo) -> Any:
        raise NotImplementedError

    def write(self, value: Any) -> Any:
        return value

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> CoreSchema:
        writes = type(self).write is not Kind.write
        return core_schema.with_info_plain_validator_function(
            self.check,
            serialization=(
                core_schema.plain_serializer_function_ser_schema(self.write, when_used="json")
                if writes
                else None
            ),
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: Any) -> dict[str, Any]:
        return self.schema()


def _text(value: Any, limit: int, **item: str) -> str:
    """``item``: what an item of a list is refused as, whatever is wrong with it."""
    if not isinstance(value, str):
        raise _refuse("string_type", **item)
    refused_text = unstorable(value)
    if refused_text is not None:
        raise _refuse("unstorable", refused=refused_text, **item)
    if len(value) > limit:
        raise _refuse("string_too_long", max_length=limit, **item)
    return value


@dataclass(frozen=True)
class Text(Kind):
    """Text the hub can store, of at most ``limit`` characters."""

    limit: int

    def check(self, value: Any, info: ValidationInfo) -> str:
        return _text(value, self.limit)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.limit}


@dataclass(frozen=True)
class CleanText(Text):
    """Text sealed into an alert: line endings made plain and the ends trimmed,
    as the page's form does (network/alerts/content.py)."""

    label: str = ""
    required: bool = False

    def check(self, value: Any, info: ValidationInfo) -> str:
        try:
            return clean_text(_text(value, self.limit), "", self.label, self.limit, self.required)
        except InvalidInput as error:
            raise refused(error) from None

    def schema(self) -> dict[str, Any]:
        return {**super().schema(), **({"minLength": 1} if self.required else {})}


@dataclass(frozen=True)
class Choice(Kind):
    """One code of a vocabulary: fixed ``codes``, or ``vocabulary``, the name of
    one the request's context holds (the platforms are the hub's own table).

    An empty string passes unless ``only_codes``, for the service to say what
    is missing in its own words ("Choose the platform.")."""

    codes: tuple[str, ...] = ()
    vocabulary: str = ""
    only_codes: bool = False

    @classmethod
    def of(cls, values: Iterable[Any], *, only_codes: bool = False) -> Choice:
        """Of vocab.Terms, enum members or plain codes."""
        codes = tuple(str(getattr(v, "code", getattr(v, "value", v))) for v in values)
        return cls(codes, only_codes=only_codes)

    def allowed(self, info: ValidationInfo) -> Iterable[str]:
        if not self.vocabulary:
            return self.codes
        return getattr(info.context, self.vocabulary)  # type: ignore[no-any-return]

    def check(self, value: Any, info: ValidationInfo) -> str:
        allowed = self.allowed(info)
        as_item = {"item": "choice", "choices": ", ".join(sorted(allowed))}
        text = _text(value, 64, **as_item)
        if (text or self.only_codes) and text not in allowed:
            raise _refuse("choice", **as_item)
        return text

    def schema(self) -> dict[str, Any]:
        if self.vocabulary:
            return {"type": "string", VOCABULARY: self.vocabulary}
        return {"type": "string", "enum": list(self.codes)}


@dataclass(frozen=True)
class Identifier(Kind):
    """An id (a UUID), written as text."""

    def check(self, value: Any, info: ValidationInfo) -> uuid.UUID:
        if isinstance(value, uuid.UUID):
            return value
        text = _text(value, 64, item="identifier")
        try:
            return uuid.UUID(text)
        except ValueError:
            raise _refuse("identifier", item="identifier") from None

    def write(self, value: uuid.UUID) -> str:
        return str(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "uuid"}


@dataclass(frozen=True)
class Written(Kind):
    """A value written as text of at most ``limit`` characters, read back with
    ``parse`` (refused as ``refusal`` if that fails); an empty text is none."""

    python_type: type
    limit: int
    refusal: str
    parse: Callable[[str], Any]
    writes: Callable[[Any], str]
    described: Mapping[str, Any] = field(compare=False)  # (hashed without it)

    def check(self, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, self.python_type):
            return value
        text = _text(value, self.limit)
        if not text:
            return None
        try:
            return self.parse(text)
        except ValueError:
            raise _refuse(self.refusal) from None

    def write(self, value: Any) -> str:
        return self.writes(value)

    def schema(self) -> dict[str, Any]:
        return dict(self.described)


def _hours_minutes(text: str) -> time:
    if not re.fullmatch(HOURS_MINUTES, text):
        raise ValueError(text)
    return time.fromisoformat(text)


DAY = Written(
    date, 10, "day", date.fromisoformat, date.isoformat, {"type": "string", "format": "date"}
)
TIME_OF_DAY = Written(
    time,
    5,
    "time_of_day",
    _hours_minutes,
    lambda value: value.strftime("%H:%M"),
    {"type": "string", "pattern": HOURS_MINUTES, "examples": ["07:30"]},
)


@dataclass(frozen=True)
class WholeNumber(Kind):
    """A whole number from ``minimum`` to ``maximum``; in a query string, its digits."""

    minimum: int
    maximum: int

    def check(self, value: Any, info: ValidationInfo) -> int:
        if isinstance(value, str):
            try:
                value = whole_number(value, "")
            except InvalidInput:
                raise _refuse("whole_number") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _refuse("whole_number")
        if not self.minimum <= value <= self.maximum:
            raise _refuse("range", minimum=self.minimum, maximum=self.maximum)
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}


@dataclass(frozen=True)
class Base64Data(Kind):
    """Bytes sent as base64 text of at most ``limit`` characters (0: any; line
    breaks allowed); written back the same way."""

    limit: int = 0

    def check(self, value: Any, info: ValidationInfo) -> bytes:
        if isinstance(value, bytes):
            return value
        text = _text(value, self.limit or sys.maxsize)
        try:
            return base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            raise _refuse("base64") from None

    def write(self, value: bytes) -> str:
        return base64.b64encode(value).decode()

    def schema(self) -> dict[str, Any]:
        limit = {"maxLength": self.limit} if self.limit else {}
        return {"type": "string", "contentEncoding": "base64", **limit}


@dataclass(frozen=True)
class Hex(Kind):
    """Bytes written as lowercase hex: a SHA-256 hash."""

    def check(self, value: Any, info: ValidationInfo) -> bytes:
        if not isinstance(value, bytes):
            raise _refuse("bytes_type")
        return value

    def write(self, value: bytes) -> str:
        return value.hex()

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^[0-9a-f]{64}$"}


@dataclass(frozen=True)
class Moment(Kind):
    """A moment, written in UTC with microseconds: ``2026-11-26T12:08:07.257640Z``."""

    def check(self, value: Any, info: ValidationInfo) -> datetime:
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise _refuse("datetime_type")
        return value

    def write(self, value: datetime) -> str:
        return timestamp(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date-time"}


# --- refusals -----------------------------------------------------------------------------

_OF_A_MEMBER = {
    "missing": "'{member}' is required.",
    "extra_forbidden": "'{member}' is not a field of this request.",
    "string_type": "'{member}' must be a string.",
    "string_too_long": "'{member}' must be at most {max_length:,} characters.",
    "unstorable": "'{member}' must not contain {refused}.",
    "bool_type": "'{member}' must be true or false.",
    "list_type": "'{member}' must be a list.",
    "too_long": "'{member}' has at most {max_length} items.",
    "choice": "'{member}' must be one of: {choices}.",
    "identifier": "'{member}' must be an id like 3f2b1c9e-....",
    "model_type": "'{member}' must be an object.",
    "day": "'{member}' must be a date like 2026-11-20.",
    "time_of_day": "'{member}' must be a time of day like 07:30.",
    "whole_number": "'{member}' must be a whole number.",
    "range": "'{member}' must be from {minimum} to {maximum}.",
    "base64": "'{member}' must be the file's bytes in base64.",
    "refused": "{message}",
}
# An item of a list is refused as a whole, as what it should be.
_OF_AN_ITEM = {
    "choice": "Each item must be one of: {choices}.",
    "identifier": "Each item must be an id like 3f2b1c9e-....",
    "model_type": "Each item must be an object.",
}


def _place(loc: Iterable[int | str]) -> str:
    """``("links", 0, "url")`` -> ``links[0].url``."""
    place = ""
    for part in loc:
        place += f"[{part}]" if isinstance(part, int) else f".{part}" if place else part
    return place


def field_errors(error: ValidationError) -> list[FieldError]:
    found = []
    for problem in error.errors(include_url=False, include_input=False):
        loc = list(problem["loc"])
        context = dict(problem.get("ctx") or {})
        if context.get("part"):
            loc.append(context["part"])
        member = next((str(p) for p in reversed(loc) if isinstance(p, str)), "body")
        kind = problem["type"]
        of_an_item = (
            _OF_AN_ITEM.get(context.get("item", kind)) if loc and isinstance(loc[-1], int) else None
        )
        template = of_an_item or _OF_A_MEMBER.get(kind)
        message = template.format(member=member, **context) if template else problem["msg"]
        found.append(FieldError(_place(loc) or "body", message))
    return found
