"""/api/v1/openapi.json, written from the code: Flask's URL map gives the
paths and methods, each view its scope (gate.py) and its contract (contract.py,
audit_contract.py), and the models of those contracts their JSON Schemas.

Nothing here restates a limit or a shape; it only says how each part of a
contract is written in OpenAPI 3.1. tests/network/test_api_openapi.py checks
the hub serves exactly this document, that docs/openapi.json (kept beside
docs/api.md, keys sorted, so a change to the API shows as a diff) is it too,
and runs schemathesis over every operation.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema
from pydantic_core import core_schema

from network.api import audit_contract
from network.api.contract import (
    Accepted,
    Contract,
    Created,
    contract_of,
    docstring_parts,
    is_an_operation,
)
from network.api.fields import VOCABULARY, Document
from network.api.gate import ANY_SCOPE
from network.problems import Problem
from schools.policy import Scope

VERSION = "1.0.0"
PREFIX = "/api/v1"
_REF = "#/components/schemas/{model}"
_SECURED: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
# Operations are grouped by the first part of their path.
_TAGS = {
    "alerts": "alerts",
    "subscriptions": "subscriptions",
    "schools": "directory",
    "audit": "audit",
}
_PROBLEMS = {
    400: "The request makes no sense (a bad parameter, header or malformed JSON).",
    401: "No valid token or session: the token is unknown, expired or revoked.",
    403: "The member's role, or the token's scopes, do not allow this.",
    404: "No such thing, or not yours to see.",
    409: "It conflicts with the alert's state (resolved, shredded, already acknowledged).",
    413: "The body is too large.",
    415: "The body is not JSON.",
    422: "The body parses but cannot be accepted; 'errors' names each field.",
    429: "Rate limited: wait for the Retry-After seconds.",
    500: "Something went wrong on the hub.",
}
_PUBLIC_PROBLEMS = (429, 500)
_READ_PROBLEMS = (400, 401, 403, 404, 429, 500)
_WRITE_PROBLEMS = (409, 413, 415, 422)
_IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retry with the same key to get the first answer instead of "
    "a second alert. Kept 24 hours; reusing it with another body is a 422.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
_SECURITY_SCHEMES = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "<id>.<secret>",
        "description": "An API token, made under Account > API tokens or with "
        "`alertnet token create`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "alertnet_session",
        "description": "A signed-in browser; unsafe methods also need the X-CSRFToken header.",
    },
}


class _Schemas(GenerateJsonSchema):
    """JSON Schema as the document writes it: no titles; ``null`` allowed by
    type where it can be; no default a field's own schema would refuse."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False

    def model_schema(self, schema: core_schema.ModelSchema) -> dict[str, Any]:
        written = super().model_schema(schema)
        written.pop("title", None)
        return written

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        inner = self.generate_inner(schema["schema"])
        if isinstance(inner.get("type"), str):
            nullable = {**inner, "type": [inner["type"], "null"]}
            if "enum" in inner:
                nullable["enum"] = [*inner["enum"], None]
            return nullable
        return super().nullable_schema(schema)

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> dict[str, Any]:
        written = super().default_schema(schema)
        default = written.get("default")
        types = written.get("type")
        refused = (default is None and not (isinstance(types, list) and "null" in types)) or (
            "enum" in written and default not in written["enum"]
        )
        if "default" in written and refused:
            del written["default"]
        return written


@dataclass(frozen=True)
class _Operation:
    path: str  # as OpenAPI writes it: /alerts/{alert_id}
    method: str
    view: Callable[..., Any]
    contract: Contract


def _operations(app: Flask) -> Iterator[_Operation]:
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if not rule.rule.startswith(f"{PREFIX}/") or not is_an_operation(view):
            continue
        contract = contract_of(view) or audit_contract.OPERATIONS.get(rule.endpoint)
        if contract is None:
            raise LookupError(f"{rule.endpoint} declares no contract (network/api/contract.py)")
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule.removeprefix(PREFIX))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield _Operation(path, method.lower(), view, contract)


def _schema_of(annotation: Any) -> dict[str, Any]:
    return TypeAdapter(annotation).json_schema(ref_template=_REF, schema_generator=_Schemas)


def _parameter(name: str, where: str, schema: dict[str, Any], required: bool) -> dict[str, Any]:
    schema = dict(schema)
    description = schema.pop("description", "")
    if schema.get("default") in ("", None):  # left out, not sent empty
        schema.pop("default", None)
    if isinstance(schema.get("type"), list):  # a query string or a path has no null
        schema["type"] = next(t for t in schema["type"] if t != "null")
        if "enum" in schema:
            schema["enum"] = [v for v in schema["enum"] if v is not None]
    parameter = {"name": name, "in": where, "required": required, "schema": schema}
    if description:
        parameter["description"] = description
    if where == "query" and not required:
        # As the views read them: an empty value is the parameter left out.
        parameter["allowEmptyValue"] = True
    return parameter


def _parameters(operation: _Operation) -> list[dict[str, Any]]:
    contract = operation.contract
    names = re.findall(r"{([^}]+)}", operation.path)
    found = [_parameter(n, "path", _schema_of(contract.path[n]), True) for n in names]
    if contract.query is not None:
        written = contract.query.model_json_schema(ref_template=_REF, schema_generator=_Schemas)
        required = set(written.get("required", ()))
        found += [
            _parameter(name, "query", schema, name in required)
            for name, schema in written["properties"].items()
        ]
    if contract.idempotent:
        found.append(_IDEMPOTENCY_KEY)
    return found


def _each_answer(contract: Contract) -> tuple[Any, ...]:
    """The answers a contract declares: one, or each member of a union."""
    answer = contract.answer
    if isinstance(answer, types.UnionType) or typing.get_origin(answer) is typing.Union:
        return typing.get_args(answer)
    return (answer,)


def _document_of(answer: Any) -> type[Document] | None:
    if typing.get_origin(answer) in (Created, Accepted):
        answer = typing.get_args(answer)[0]
    return answer if inspect.isclass(answer) and issubclass(answer, Document) else None


def _answered(contract: Contract) -> list[type[Document]]:
    return [m for a in _each_answer(contract) if (m := _document_of(a)) is not None]


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "description": docstring_parts(model)[0] + ".",
        "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
    }


def _success(contract: Contract) -> dict[str, dict[str, Any]]:
    """Each success status the operation answers, with what it holds."""
    if contract.files:
        binary = {"schema": {"type": "string", "format": "binary"}}
        return {
            "200": {
                "description": "The file, with its name in Content-Disposition.",
                "content": dict.fromkeys(contract.files, binary),
            }
        }
    if contract.answer is None:
        return {"204": {"description": "Done: there is nothing more to say."}}
    written: dict[str, dict[str, Any]] = {}
    for answer in _each_answer(contract):
        model = _document_of(answer)
        origin = typing.get_origin(answer)
        if model is None:
            written["200"] = {
                "description": "A JSON document.",
                "content": {"application/json": {}},
            }
        elif origin is Created:
            located = {"Location": {"schema": {"type": "string"}}}
            written["201"] = {**_json(model), "headers": located}
        elif origin is Accepted:
            written["202"] = _json(model)
        else:
            written["200"] = _json(model)
    return written


def _operation(operation: _Operation) -> dict[str, Any]:
    contract, view = operation.contract, operation.view
    summary, description = (contract.summary, "") if contract.summary else docstring_parts(view)
    scope = getattr(view, "_alertnet_scope", None)
    public = getattr(view, "_alertnet_public", False)
    successes = _success(contract)
    if contract.links:
        # The links follow what was done: the first success (201 before 202).
        first = min(successes)
        successes[first] = {**successes[first], "links": dict(contract.links)}
    problems = (
        _PUBLIC_PROBLEMS
        if public
        else (*_READ_PROBLEMS, *(_WRITE_PROBLEMS if contract.body else ()), *contract.also)
    )
    written: dict[str, Any] = {
        "operationId": contract.operation_id,
        "summary": summary,
        "tags": [_TAGS.get(operation.path.split("/")[1], "meta")],
        "responses": {
            **successes,
            **{
                str(code): {
                    "description": _PROBLEMS[code],
                    "content": {"application/problem+json": {"schema": _ref(Problem)}},
                }
                for code in sorted(problems)
            },
        },
        "security": [] if public else _SECURED,
    }
    if not public:
        written["x-alertnet-scope"] = str(scope)
        if scope != ANY_SCOPE:
            description = "\n\n".join(filter(None, [description, f"Token scope: `{scope}`."]))
    if description:
        written["description"] = description
    parameters = _parameters(operation)
    if parameters:
        written["parameters"] = parameters
    if contract.body is not None:
        written["requestBody"] = {
            "required": not contract.body.may_be_empty,
            "content": {"application/json": {"schema": _ref(contract.body)}},
        }
    return written


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _components(operations: list[_Operation]) -> dict[str, Any]:
    """Every model's schema: what the bodies accept, what the answers hold."""
    bodies: set[type[BaseModel]] = {o.contract.body for o in operations if o.contract.body}
    answers: set[type[BaseModel]] = {Problem}
    answers.update(a for o in operations for a in _answered(o.contract))
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        *((m, "validation") for m in sorted(bodies, key=_named)),
        *((m, "serialization") for m in sorted(answers, key=_named)),
    ]
    _, written = models_json_schema(models, ref_template=_REF, schema_generator=_Schemas)
    return dict(written.get("$defs", {}))


def _named(model: type[BaseModel]) -> str:
    return model.__name__


def _with_vocabularies(value: Any, vocabularies: dict[str, list[str]]) -> Any:
    """The document with each vocabulary the database keeps written in."""
    if isinstance(value, dict):
        filled = {k: _with_vocabularies(v, vocabularies) for k, v in value.items()}
        if VOCABULARY in filled:
            filled["enum"] = list(vocabularies[filled.pop(VOCABULARY)])
        return filled
    if isinstance(value, list):
        return [_with_vocabularies(v, vocabularies) for v in value]
    return value


def document(app: Flask, platforms: Sequence[str]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s API, with the hub's ``platforms``."""
    operations = list(_operations(app))
    paths: dict[str, Any] = {}
    for operation in operations:
        paths.setdefault(operation.path, {})[operation.method] = _operation(operation)
    scopes = "\n".join(f"- `{s.value}`: {s.description}." for s in Scope)
    written = {
        "openapi": "3.1.0",
        "info": {
            "title": "alertnet API",
            "version": VERSION,
            "description": "The hub's JSON API for schools' own systems and scripts "
            "(docs/api.md). Authenticate with an API token: "
            "`Authorization: Bearer <id.secret>`. A token acts as the member who made "
            "it, within its scopes:\n\n" + scopes + "\n\nEvery error is an RFC 9457 "
            "problem document (application/problem+json).",
        },
        "servers": [{"url": PREFIX}],
        "paths": paths,
        "components": {"schemas": _components(operations), "securitySchemes": _SECURITY_SCHEMES},
    }
    return _with_vocabularies(written, {"platforms": list(platforms)})  # type: ignore[no-any-return]


def served(app: Flask, platforms: Sequence[str]) -> dict[str, Any]:
    """``document``, written once per app and list of platforms."""
    written: dict[tuple[str, ...], dict[str, Any]] = app.extensions.setdefault(
        "alertnet.openapi", {}
    )
    key = tuple(platforms)
    if key not in written:
        written[key] = document(app, platforms)
    return written[key]
