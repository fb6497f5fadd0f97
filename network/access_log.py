"""gunicorn's access log without the secrets some links carry.

An invitation link (/invitations/<token>) is a bearer secret until accepted:
the hub stores only a hash of it, and its access log must not keep it either,
in the request line, the path or the Referer of the page's own assets.
``alertnet serve`` and the Dockerfile run gunicorn with this logger class.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, cast

from gunicorn.glogging import Logger

if TYPE_CHECKING:
    from gunicorn.glogging import _AtomsDict

SECRET_IN_PATH = re.compile(r"(/invitations/)[^/?#\s]+")


def redact(text: str) -> str:
    return SECRET_IN_PATH.sub(r"\1…", text)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> _AtomsDict:
        atoms = super().atoms(resp, req, environ, request_time)
        # Any of the format's atoms (request line, path, Referer, headers) may carry it.
        values = cast("dict[str, object]", atoms)
        for key, value in values.items():
            if isinstance(value, str) and "/invitations/" in value:
                values[key] = redact(value)
        return atoms
