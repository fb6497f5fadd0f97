"""CSV cells that a spreadsheet opens as text: the audit export and the
governors' report write names people typed."""

from __future__ import annotations

import json
from typing import Any

# A cell starting with one of these is run as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
