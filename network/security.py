"""HTTP hardening that applies to every request and response: headers, body
limits (``hold_body``), the NUL guard, bounded ``<int:...>`` routes, and how an
evidence file is sent (``evidence_download``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from flask import Flask, Request, Response, abort, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser, MultiPartParser

from network.bounds import WholeNumberConverter
from network.problems import wants_problem
from network.settings import current as current_settings
from network.text import unstorable

F = TypeVar("F", bound=Callable[..., Any])

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


# A downloaded evidence file is never a page of the hub: should a browser render
# it anyway, it runs no script and loads nothing, in an origin of its own.
DOWNLOAD_CSP = "default-src 'none'; sandbox"


class Download(Protocol):
    """What is sent as a download: an alert's evidence file (network/alerts/content.py)."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str: ...
    @property
    def data(self) -> bytes: ...


def evidence_download(evidence: Download) -> Response:
    """An evidence file as a download, for the page's route and the API's alike."""
    response = Response(evidence.data, mimetype=evidence.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=evidence.filename)
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


class _FormParser(FormDataParser):
    """Werkzeug 3.1's multipart decoder holds its whole read buffer to
    ``max_form_memory_size``, file parts included: with 64 KiB chunks against a
    64 KiB limit, an upload fails as soon as a few bytes of a partial boundary
    stay in the buffer (most files over a few hundred KB). Reading in chunks of
    a quarter of the limit keeps buffer plus chunk below it, while the parser
    still holds each text field to the limit exactly."""

    def _parse_multipart(
        self,
        stream: Any,
        mimetype: str,
        content_length: int | None,
        options: dict[str, str],
    ) -> Any:
        limit = self.max_form_memory_size
        parser = MultiPartParser(
            stream_factory=self.stream_factory,
            max_form_memory_size=limit,
            max_form_parts=self.max_form_parts,
            cls=self.cls,
            buffer_size=min(64 * 1024, max(1024, limit // 4)) if limit else 64 * 1024,
        )
        boundary = options.get("boundary", "").encode("ascii")
        if not boundary:
            raise ValueError("Missing boundary")
        form, files = parser.parse(stream, boundary, content_length)
        return stream, form, files


class HubRequest(Request):
    form_data_parser_class = _FormParser


def large_json_body(view: F) -> F:
    """Mark the API view whose JSON body may carry evidence files (base64): for
    a caller that may send evidence it is held to ``max_json_upload_bytes``
    instead of the small text-form limit (``hold_body``)."""
    view._alertnet_large_json = True  # type: ignore[attr-defined]
    return view


def hold_body(may_send_evidence: bool) -> None:
    """Set this request's body limit, and refuse at once (413, before anything
    reads or parses it) a body that says it is larger.

    A ``large_json_body`` view takes up to ``max_json_upload_bytes`` from a
    caller that may send evidence (the API's gate says who: a token with
    alerts:write); every other body is held to ``max_form_bytes``. A body that
    does not say its length is cut off at the limit as it is read.
    """
    settings = current_settings()
    view = current_app.view_functions.get(request.endpoint or "")
    large = may_send_evidence and getattr(view, "_alertnet_large_json", False)
    limit = settings.max_json_upload_bytes if large else settings.max_form_bytes
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask, https: bool) -> None:
    app.request_class = HubRequest
    # Before any blueprint adds its routes: every <int:...> is range-checked.
    app.url_map.converters["int"] = WholeNumberConverter

    @app.before_request
    def _limit_body() -> None:
        # The pages' multipart forms carry evidence files: they keep the
        # app-wide MAX_CONTENT_LENGTH (their text parts are held to
        # MAX_FORM_MEMORY_SIZE as they are parsed). The API's evidence view
        # waits for its gate to know who is calling, which calls hold_body
        # again before anything reads the body. Every other body, JSON or
        # form, page or API, is held to the small limit here, first.
        if request.mimetype == "multipart/form-data" and not wants_problem():
            return
        view = app.view_functions.get(request.endpoint or "")
        if getattr(view, "_alertnet_large_json", False):
            request.max_content_length = current_settings().max_form_bytes
            return
        hold_body(may_send_evidence=False)

    @app.before_request
    def _refuse_nul() -> None:
        # PostgreSQL cannot store NUL in text; refuse it here, once, with a 400
        # rather than let a query fail deep inside a view: in the path (whose
        # segments views look up), the query string and forms. JSON bodies are
        # checked member by member as the API reads them (network/api/inputs.py),
        # where a 422 can name the field.
        refused = unstorable(request.path)
        if refused is not None:
            abort(400, f"The address must not contain {refused}.")
        fields = [*request.args.items(multi=True)]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += request.form.items(multi=True)
        for name, value in fields:
            refused = unstorable(value)
            if refused is not None:
                abort(400, f"The field '{name}' must not contain {refused}.")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if https:
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if request.endpoint != "static":
            # Pages carry information about schools and people: keep them out of caches.
            headers.setdefault("Cache-Control", "no-store")
        return response
