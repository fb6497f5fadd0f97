"""Each API operation's contract, declared once, on its view:

    @bp.route("/alerts/<uuid:alert_id>/replies", methods=["POST"])
    @operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE, idempotent=True)
    def reply(alert_id: AlertId, body: Reply) -> Created[ThreadItem]:
        \"""Reply to every school that received the alert.\"""

The view's signature is the contract. Its ``body`` and ``query`` parameters
name the models (inputs.py) the request is parsed into before the view runs,
refused with every field at fault (a body 422, a query string 400); its path
parameters' types describe them; its return type is what it answers: a
Document (200), ``Created[Document]`` (201, with Location if it has its own
address), ``Accepted[Document]`` (202: taken, not yet done), a union of those
(``Created[Posted] | Accepted[InReview]``), None (204). Its docstring is the
operation's summary, then its description. The decorator adds what a
signature cannot say: who may call it (the gate checks the permission and the
token's scope), whether an Idempotency-Key is honoured, links to what can be
done next with what it answers, refusals beyond the usual. openapi.py writes /api/v1/openapi.json
from these contracts and Flask's URL map.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from flask import Response, request
from flask.typing import ResponseReturnValue
from pydantic import ValidationError
from werkzeug.exceptions import UnsupportedMediaType

from network import auth
from network.alerts import platforms
from network.api import gate, idempotency
from network.api.fields import Body, Document, Query, field_errors
from network.db import db
from network.problems import FieldError, ValidationFailed
from schools.errors import InvalidInput
from schools.policy import Permission, Scope

F = TypeVar("F", bound=Callable[..., Any])
D = TypeVar("D", bound=Document)

_CONTRACT = "_alertnet_contract"
_NOT_AN_OPERATION = "_alertnet_not_an_operation"


@dataclass(frozen=True)
class Created(Generic[D]):
    """A 201 answer: the document, and the new thing's address if it has one."""

    document: D
    location: str | None = None


@dataclass(frozen=True)
class Accepted(Generic[D]):
    """A 202 answer: taken, but not done yet (an alert waiting for review)."""

    document: D
    location: str | None = None


_STATUS: dict[type, int] = {Created: 201, Accepted: 202}


@dataclass(frozen=True)
class Written(Generic[D]):
    """A 200 answer already written as JSON values, by a writer the tests hold
    equal to the document's own (``D.model_dump(mode="json")``) for every shape
    it writes: for the hottest reads, which would otherwise build and validate
    a model of every row only to write it back out. The contract, and so the
    OpenAPI document, is still ``D``'s."""

    values: dict[str, Any]


@dataclass(frozen=True)
class Contract:
    """What an operation takes and answers, as openapi.py describes it."""

    operation_id: str
    summary: str = ""  # empty: the view's docstring says
    body: type[Body] | None = None
    query: type[Query] | None = None
    path: Mapping[str, Any] = field(default_factory=dict)  # name: annotated type
    # A Document class, Created[...], Accepted[...], a union of those, None (204)
    # or dict (free JSON).
    answer: Any = None
    files: tuple[str, ...] = ()  # it answers a file of one of these media types
    idempotent: bool = False
    links: Mapping[str, Any] = field(default_factory=dict)
    also: tuple[int, ...] = ()  # refusals beyond the usual for its method


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.title() for part in rest)


def _from_signature(view: Callable[..., Any], declared: Contract) -> Contract:
    """The declared contract, completed from the view's signature."""
    hints = typing.get_type_hints(view, include_extras=True)
    answer = hints.pop("return", None)
    if typing.get_origin(answer) is Written:
        answer = typing.get_args(answer)[0]
    body, query = hints.pop("body", None), hints.pop("query", None)
    assert body is None or issubclass(body, Body), f"{view.__name__}: body is not a Body"
    assert query is None or issubclass(query, Query), f"{view.__name__}: query is not a Query"
    return dataclasses.replace(
        declared,
        operation_id=declared.operation_id or _camel(view.__name__),
        body=body,
        query=query,
        path=hints,
        answer=None if answer is type(None) else answer,
    )


def contract_of(view: Callable[..., Any]) -> Contract | None:
    """The contract ``operation`` declared on a view, if any."""
    found: Callable[[], Contract] | None = getattr(view, _CONTRACT, None)
    return found() if found is not None else None


def follow(source: str, parameter: str, *operation_ids: str) -> dict[str, Any]:
    """OpenAPI links: the value at ``source`` of the answer (a JSON pointer,
    ``/id``) is ``parameter`` of each of ``operation_ids``, so a client (and
    schemathesis's stateful run) can follow one call with the next."""
    return {
        operation_id[0].upper() + operation_id[1:]: {
            "operationId": operation_id,
            "parameters": {parameter: f"$response.body#{source}"},
        }
        for operation_id in operation_ids
    }


def operation(
    permission: Permission | None = None,
    scope: Scope | str | None = None,
    *,
    public: bool = False,
    idempotent: bool = False,
    links: Mapping[str, Any] | None = None,
    also: tuple[int, ...] = (),
    files: tuple[str, ...] = (),
    operation_id: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., ResponseReturnValue]]:
    """Declare an API view's contract (the module's docstring says how):
    ``permission`` (None: any member) and token ``scope`` (gate.ANY_SCOPE: any
    token), or ``public``."""
    declared = Contract(
        operation_id or "", idempotent=idempotent, links=links or {}, also=also, files=files
    )

    def declare(view: Callable[..., Any]) -> Callable[..., ResponseReturnValue]:
        # Read when first needed: the signature may name models defined after it.
        contract = functools.cache(lambda: _from_signature(view, declared))

        @functools.wraps(view)
        def run(**path: Any) -> ResponseReturnValue:
            return _run(contract(), view, path)

        setattr(run, _CONTRACT, contract)
        if public:
            return auth.public(run)
        assert scope is not None, "an API view declares its token scope"
        return gate.scoped(scope)(auth.requires(permission)(run))

    return declare


def not_an_operation(view: F) -> F:
    """A route of the API that the document leaves out (the catch-all that
    answers 404 or 405 for paths that are not operations)."""
    setattr(view, _NOT_AN_OPERATION, True)
    return view


def is_an_operation(view: Callable[..., Any]) -> bool:
    return not getattr(view, _NOT_AN_OPERATION, False)


# --- running an operation -------------------------------------------------------------------


def _run(contract: Contract, view: Callable[..., Any], path: dict[str, Any]) -> ResponseReturnValue:
    key = idempotency.key_of_request() if contract.idempotent else None
    arguments = dict(path)
    if contract.query is not None:
        arguments["query"] = _parsed(contract.query, _query_values(contract.query), status=400)
    if contract.body is not None:
        arguments["body"] = _parsed(contract.body, _json_body(contract.body.may_be_empty))

    def answer() -> Any:
        with _as_bad_request() if contract.query is not None else nullcontext():
            return view(**arguments)

    if contract.idempotent:
        return idempotency.once(db(), gate.principal_id(), key, lambda: _stored(answer()))
    return _response(answer())


class _Vocabularies:
    """The vocabularies a request is checked against that live in the database."""

    @functools.cached_property
    def platforms(self) -> frozenset[str]:
        return frozenset(p.code for p in platforms.platforms(db()))


M = TypeVar("M", Body, Query)


def _parsed(model: type[M], values: Any, *, status: int = 422) -> M:
    try:
        return model.model_validate(values, context=_Vocabularies())
    except ValidationError as error:
        raise ValidationFailed(field_errors(error), status=status) from None


def _query_values(model: type[Query]) -> dict[str, str]:
    """The parameters the model knows; an empty one is one left out."""
    names = {info.alias or name for name, info in model.model_fields.items()}
    return {name: value for name, value in request.args.items() if name in names and value}


def _json_body(may_be_empty: bool) -> Any:
    """The request's JSON value. 415 if it is not JSON, 400 if it does not
    parse, 422 if it is not an object. ``may_be_empty``: no body is ``{}``."""
    data = request.get_data(cache=True)
    if may_be_empty and not data.strip():
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("Send the body as JSON, with Content-Type: application/json.")
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValidationFailed(
            [FieldError("body", "The body nests too deeply.")], status=400
        ) from None
    except ValueError as error:
        where = (
            f" (line {error.lineno}, column {error.colno})"
            if isinstance(error, json.JSONDecodeError)
            else ""
        )
        raise ValidationFailed(
            [FieldError("body", f"The body is not valid JSON{where}.")], status=400
        ) from None
    if not isinstance(value, dict):
        raise ValidationFailed([FieldError("body", "The body must be a JSON object.")])
    return value


@contextmanager
def _as_bad_request() -> Iterator[None]:
    """A service refusing a query parameter (an unknown platform, a bad cursor)
    is a 400 naming it, not a form to fix (422)."""
    try:
        yield
    except InvalidInput as error:
        raise ValidationFailed(
            [FieldError(error.field or "query", error.message)], status=400
        ) from None


def _stored(answer: Any) -> tuple[dict[str, Any], int, str | None]:
    """An idempotent operation's answer, as idempotency.py keeps it."""
    if isinstance(answer, Created | Accepted):
        return answer.document.model_dump(mode="json"), _STATUS[type(answer)], answer.location
    if isinstance(answer, Written):
        return answer.values, 200, None
    assert isinstance(answer, Document)
    return answer.model_dump(mode="json"), 200, None


def _response(answer: Any) -> ResponseReturnValue:
    if isinstance(answer, Created | Accepted):
        headers = {"Location": answer.location} if answer.location else {}
        return answer.document.model_dump(mode="json"), _STATUS[type(answer)], headers
    if isinstance(answer, Document):
        return answer.model_dump(mode="json")
    if isinstance(answer, Written):
        return answer.values
    if answer is None:
        return Response(status=204)
    assert isinstance(answer, Response | dict), answer  # a file, or JSON the view wrote
    return answer


def docstring_parts(view: Callable[..., Any]) -> tuple[str, str]:
    """A view's summary (its docstring's first paragraph, without the full
    stop) and description (the rest)."""
    text = inspect.getdoc(view) or ""
    first, _, rest = text.partition("\n\n")
    return " ".join(first.split()).removesuffix("."), rest.strip()
