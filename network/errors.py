"""The one place domain errors and HTTP errors become responses: a page, or
under /api/ an RFC 9457 problem document (network/problems.py)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g, render_template, request
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from crypto.errors import HashingBusy
from network import problems
from schools.errors import DomainError, InvalidInputs

log = logging.getLogger("alertnet")

TITLES = {
    400: "The request could not be understood",
    401: "Please sign in",
    403: "You do not have access to this page",
    404: "Page not found",
    405: "That action is not allowed here",
    409: "That conflicts with something already there",
    410: "This link can no longer be used",
    413: "What you sent is too large",
    422: "Please check what you entered",
    429: "Too many attempts",
    500: "Something went wrong on the hub",
    503: "The hub is busy",
}


class FormRejected(Exception):
    """Raised inside ``form_errors`` so the view re-renders with messages."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@contextmanager
def form_errors(form: FlaskForm) -> Iterator[None]:
    """Run a service call for a form: a DomainError rolls the transaction back
    and is shown next to the field it names (or above the form)."""
    try:
        yield
    except DomainError as error:
        _rollback()
        for problem in error.problems if isinstance(error, InvalidInputs) else (error,):
            show_error(form, problem.field, problem.message)
        raise FormRejected(error.status) from error


def also_checked(form: FlaskForm, check: Callable[[], object]) -> None:
    """The form's own validators refused it: run the service's checks of the
    same fields too (checks only: nothing is written), so that every problem
    shows at once. A field that already has a message keeps only that one."""
    try:
        check()
    except DomainError as error:
        for problem in error.problems if isinstance(error, InvalidInputs) else (error,):
            field = getattr(form, problem.field, None) if problem.field else None
            if field is None or not getattr(field, "errors", None):
                show_error(form, problem.field, problem.message)


def show_error(form: FlaskForm, name: str | None, message: str) -> None:
    """A message beside the field it names (once), or above the form."""
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        if message not in field.errors:
            field.errors = [*list(field.errors), message]
    elif message not in form.form_errors:
        form.form_errors.append(message)


def _rollback() -> None:
    session = g.get("db")
    if session is not None:
        session.rollback()


def render_error(status: int, message: str | None = None) -> tuple[str, int]:
    return render_template(
        "error.html", status=status, title=TITLES.get(status, "Error"), message=message
    ), status


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Any:
        _rollback()
        if problems.wants_problem():
            return problems.domain_problem(error)
        return render_error(error.status, error.message)

    @app.errorhandler(HashingBusy)
    def _busy(error: HashingBusy) -> Any:
        # Many sign-ins at once: nothing was decided, so ask the person to retry.
        _rollback()
        message = "Many people are signing in right now. Try again in a few seconds."
        headers = {"Retry-After": str(error.retry_after)}
        if problems.wants_problem():
            return problems.problem(503, message, headers=headers)
        return (*render_error(503, message), headers)

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError) -> Any:
        _rollback()
        if problems.wants_problem():
            return problems.problem(
                400,
                "A signed-in browser session must send its CSRF token (X-CSRFToken "
                "header) with this request; scripts should use an API token instead.",
            )
        return render_error(
            400,
            "This form has expired or did not come from this hub. Go back, reload the "
            "page and try again.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException) -> Any:
        _rollback()
        if problems.wants_problem():
            return problems.http_problem(error)
        status = error.code or 500
        response = render_error(status, error.description if status not in (404, 500) else None)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            return response[0], status, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def _crash(error: Exception) -> Any:
        # Roll back first, so the error page never commits half an action.
        _rollback()
        if app.testing:
            raise error
        # The frames, not the message: a message may quote data the hub must not log.
        log.error(
            "unhandled %s on %s %s\n%s",
            type(error).__name__,
            request.method,
            # The route, not the path: a path may carry a secret (an invitation).
            request.url_rule.rule if request.url_rule else "(no route)",
            "".join(traceback.format_tb(error.__traceback__)),
        )
        if problems.wants_problem():
            return problems.problem(500, "Something went wrong on the hub.")
        return render_error(500)
