"""gunicorn's access log without the secrets some links carry.

An invitation link (/invitations/<token>) is a bearer secret until accepted:
the hub stores only a hash of it, and its access log must not keep it either,
in the request line, the path or the Referer of the page's own assets. Nor
may it keep the words of an inbox search (``q=``), which are words of alerts
(docs/crypto.md, "Search index"): they are replaced by "…" too, also inside an
encoded ``next=`` link.
``alertnet serve`` and the Dockerfile run gunicorn with this logger class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from gunicorn.glogging import Logger

if TYPE_CHECKING:
    from gunicorn.glogging import _AtomsDict

SECRET_IN_PATH = re.compile(r"(/invitations/)[^/?#\s]+")
SEARCH_IN_QUERY = re.compile(r"((?:^|[?&]|%3F|%26)q(?:=|%3D))[^&#\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    return SEARCH_IN_QUERY.sub(r"\1…", SECRET_IN_PATH.sub(r"\1…", text))


def _may_hold_a_secret(value: str) -> bool:
    return "/invitations/" in value or "q=" in value or "q%3d" in value.lower()


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> _AtomsDict:
        atoms = super().atoms(resp, req, environ, request_time)
        # Any of the format's atoms (request line, path, Referer, headers) may carry it.
        values = cast("dict[str, object]", atoms)
        for key, value in values.items():
            if isinstance(value, str) and _may_hold_a_secret(value):
                values[key] = redact(value)
        return atoms
