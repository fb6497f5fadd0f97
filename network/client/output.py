"""What the client prints: tables for people, JSON for scripts."""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from typing import Any

import click


def emit_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]], wrap: int | None = None) -> None:
    """Columns padded to their widest cell; in a terminal, the column ``wrap``
    is cut to what is left of its width (never when piped to another program)."""
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if wrap is not None and sys.stdout.isatty():
        room = shutil.get_terminal_size((120, 24)).columns - sum(
            w + 2 for i, w in enumerate(widths) if i != wrap
        )
        widths[wrap] = max(12, min(widths[wrap], room))
        for row in cells:
            if len(row[wrap]) > widths[wrap]:
                row[wrap] = row[wrap][: widths[wrap] - 1] + "…"
    click.echo("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in cells:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def when(value: str | None) -> str:
    return value.replace("T", " ")[:16] if value else ""
