"""A Core statement issued as the driver's own SQL: rendered once per
database dialect and number of values in its list, then run with
``exec_driver_sql``.

SQLAlchemy's ``execute`` of a cached statement still takes the statement's
cache key, builds the parameters and expands the list into its placeholders
on every call: about as much of this process's time as the database driver's
own work for a small indexed query (bench/indicators.py). A statement run on
every view of a page is rendered here once instead; each call only puts the
values in the order the driver wants them, through the same bind processors
SQLAlchemy would apply (on SQLite a UUID is stored as its hex text). The call
still goes through the connection, so its transaction, events and error
wrapping are SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler

#: Renderings kept per statement and dialect: one per length of the list
#: (indicators times generations: a handful); past this, rendered per call.
_KEPT = 64

#: How one parameter the driver takes is made: its name for the driver, the
#: caller's name, its place in the list (None: not the list), the bind
#: processor, and the value when the statement binds its own (a literal).
_Step = tuple[str, str, int | None, Callable[[Any], Any] | None, tuple[Any] | None]


class _Rendered:
    """The statement's SQL for one dialect and list length, with how each
    parameter the driver takes is made from the caller's values."""

    __slots__ = ("positional", "sql", "steps")

    def __init__(self, sql: str, steps: list[_Step], positional: bool) -> None:
        self.sql = sql
        self.steps = steps
        self.positional = positional

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        made = []
        for _, name, place, process, constant in self.steps:
            if constant is not None:
                made.append(constant[0])
                continue
            value = values[name] if place is None else values[name][place]
            made.append(value if process is None else process(value))
        if self.positional:
            return tuple(made)
        return {step[0]: value for step, value in zip(self.steps, made, strict=True)}


class DriverStatement:
    """``statement``, whose one expanding parameter is ``listed``, run as
    driver SQL. Thread-safe: renderings are only ever added, whole."""

    def __init__(self, statement: Executable, listed: str) -> None:
        self.statement = statement
        self.listed = listed
        self._compiled: dict[tuple[str, str, str], SQLCompiler] = {}
        self._rendered: dict[tuple[str, str, str, int], _Rendered] = {}

    def _compile(self, dialect: Dialect) -> SQLCompiler:
        key = _dialect_key(dialect)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self.statement.compile(dialect=dialect)  # type: ignore[attr-defined]
            assert isinstance(compiled, SQLCompiler)
            self._compiled[key] = compiled
        return compiled

    def _render(self, dialect: Dialect, count: int) -> _Rendered:
        compiled = self._compile(dialect)
        sample: dict[str, Any] = {name: None for name in compiled.binds if not name.startswith("%")}
        sample[self.listed] = [None] * count
        expanded = compiled.construct_expanded_state(sample, escape_names=False)
        # The statement's own values (a literal it binds): given on every call.
        constants = {
            name: compiled.params[name]
            for name, bind in compiled.binds.items()
            if not name.startswith("%") and not bind.required
        }
        names = expanded.positiontup or list(expanded.parameters)
        prefix = f"{self.listed}_"
        steps: list[_Step] = []
        for driver_name in names:
            listed = driver_name not in compiled.binds and driver_name.startswith(prefix)
            if listed and driver_name[len(prefix) :].isdigit():
                name, place = self.listed, int(driver_name[len(prefix) :]) - 1
            else:
                name, place = driver_name, None
            bind = compiled.binds[name]
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if name in constants:
                value = constants[name]
                steps.append(
                    (driver_name, name, None, None, (process(value) if process else value,))
                )
            else:
                steps.append((driver_name, name, place, process, None))
        positional = expanded.positiontup is not None
        if not positional and any(f"%({step[0]})s" not in expanded.statement for step in steps):
            # Only pyformat names (psycopg's) are read here; a name SQLAlchemy
            # escaped, or another style, would be given to the wrong place.
            raise ValueError(f"{dialect.paramstyle} parameters are not rendered here")
        return _Rendered(expanded.statement, steps, positional)

    def rows(self, connection: Connection, values: Mapping[str, Any]) -> Sequence[Any]:
        """The statement's rows as the driver returns them (tuples of its own values)."""
        dialect = connection.dialect
        count = len(values[self.listed])
        key = (*_dialect_key(dialect), count)
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = self._render(dialect, count)
            if len(self._rendered) < _KEPT:
                self._rendered[key] = rendered
        result = connection.exec_driver_sql(rendered.sql, rendered.parameters(values))
        try:
            return result.cursor.fetchall()
        finally:
            result.close()


def _dialect_key(dialect: Dialect) -> tuple[str, str, str]:
    """A rendering is the driver's: the same database through another driver
    may take other placeholders."""
    return dialect.name, dialect.driver, dialect.paramstyle


__all__ = ["DriverStatement"]
