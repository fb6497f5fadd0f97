"""gunicorn's access log without the secrets some links carry.

An invitation link (/invitations/<token>) is a bearer secret until accepted:
the hub stores only a hash of it, and its access log must not keep it either,
in the request line, the path or the Referer of the page's own assets.
``alertnet serve`` and the Dockerfile run gunicorn with this logger class.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

SECRET_IN_PATH = re.compile(r"(/invitations/)[^/?#\s]+")


def redact(text: str) -> str:
    return SECRET_IN_PATH.sub(r"\1…", text)


class RedactingLogger(Logger):  # type: ignore[misc]
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and "/invitations/" in value:
                atoms[key] = redact(value)
        return atoms
