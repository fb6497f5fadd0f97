"""Page blueprints, and what their forms have in common."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask_wtf import FlaskForm

from network.errors import FormRejected, also_checked, form_errors

FormT = TypeVar("FormT", bound=FlaskForm)
ResultT = TypeVar("ResultT")


def submit(
    form: FormT,
    action: Callable[[], ResultT],
    blank: Callable[[], FormT],
    check: Callable[[], object] | None = None,
) -> tuple[FormT, ResultT | None, int]:
    """Run a form's action when it was submitted and valid.

    When the form's own validators refuse it, ``check`` (the service's checks
    of the same fields, writing nothing) runs too, so every problem shows at once.
    Returns the form to show (a blank one after success, so the page is ready
    for the next entry), the action's result, and the status: 422 when the form
    or the service refused the input, 403 when the service refused the person
    (e.g. their school is suspended); the messages are on the form.
    """
    if not form.validate_on_submit():
        if form.errors and check is not None:
            also_checked(form, check)
        return form, None, 422 if form.errors else 200
    try:
        with form_errors(form):
            result = action()
    except FormRejected as rejected:
        return form, None, 403 if rejected.status == 403 else 422
    return blank(), result, 200
