"""Whole numbers from paths and query strings, held to what the database can
compare.

A number past a column's range fails inside the query (PostgreSQL: "integer out
of range"; SQLite's driver: OverflowError), which is a 500; and Python refuses
to convert more than 4,300 digits at all. So every number a request names is
checked here before it reaches a query: the app's ``<int:...>`` route converter
for paths (registered by network/security.py), ``whole_number`` for query
strings and path segments that explain a bad value (network/audit,
network/api/inputs.py).
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter, Map, ValidationError

from schools.errors import InvalidInput

INT32_MAX = 2**31 - 1  # an Integer column on PostgreSQL (key generations, counts)
INT64_MAX = 2**63 - 1  # a BigInteger column (the audit log's seq); any SQLite integer


def _digits_beyond(raw: str, maximum: int) -> bool:
    """Whether a string of digits has more digits than ``maximum``, checked
    before converting it (a long enough string cannot be converted at all)."""
    return len(raw.lstrip("0")) > len(str(maximum))


class WholeNumberConverter(IntegerConverter):
    """``<int:name>`` in every route: 0 to INT32_MAX (an Integer column) unless
    the rule says ``max=`` (a BigInteger column). A number out of range names
    nothing, so its path is a 404, as for any other path that names nothing."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 0,
        max: int | None = INT32_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)

    def to_python(self, value: str) -> Any:
        if self.max is not None and _digits_beyond(value.lstrip("-"), self.max):
            raise ValidationError()
        return super().to_python(value)


def whole_number(
    raw: str | None, name: str, *, minimum: int = 0, maximum: int = INT64_MAX
) -> int | None:
    """The whole number in a query parameter (or path segment) ``name``; None
    when it is absent or empty. InvalidInput naming it when it is not a whole
    number from ``minimum`` to ``maximum``."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit():
        raise InvalidInput(f"'{name}' must be a whole number, got {raw[:40]!r}.", field=name)
    if _digits_beyond(raw, maximum) or int(raw) > maximum:
        raise InvalidInput(f"'{name}' must be a whole number at most {maximum}.", field=name)
    value = int(raw)
    if value < minimum:
        raise InvalidInput(f"'{name}' must be at least {minimum}.", field=name)
    return value
