"""The OpenAPI 3.1 description of /api/v1, served at /api/v1/openapi.json.

Written by hand beside the views, with enumerations taken from the same
vocabularies the views check against, so the document cannot drift from them;
tests/network/test_api_openapi.py checks every route is described (and nothing
else), and runs schemathesis over every operation.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from network.alerts import evidence, vocab
from network.alerts.content import MAX_DESCRIPTION, MAX_LINKS, MAX_NOTE, MAX_TITLE, MAX_URL
from network.alerts.vocab import AUDIENCES, FILTER_STATUSES
from network.api.inputs import TIME_OF_DAY
from network.api.limits import DEFAULT_PAGE, MAX_RECIPIENTS, PAGE_LIMIT
from network.bounds import INT64_MAX
from network.notifications.models import Channel, Timing
from schools.policy import Scope

VERSION = "1.0.0"
ID = {"type": "string", "format": "uuid"}
TIME = {"type": "string", "format": "date-time"}
HEX = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
B64 = {"type": "string", "contentEncoding": "base64"}
# Audit sequence numbers and tree sizes: what the log's BigInteger column holds.
SEQ = {"type": "integer", "minimum": 0, "maximum": INT64_MAX}
SIZE = {**SEQ, "minimum": 1}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(
    properties: dict[str, Any], required: Iterable[str] | None = None, *, closed: bool = True
) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "required": list(properties if required is None else required),
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _codes(terms: tuple[vocab.Term, ...]) -> list[str]:
    return [t.code for t in terms]


def _schemas(platforms: list[str]) -> dict[str, Any]:
    school_ref = _obj({"id": ID, "name": {"type": "string"}})
    member_ref = _obj({"id": ID, "name": {"type": "string"}})
    metadata = {
        "id": ID,
        "created_at": TIME,
        "category": {"type": "string", "enum": _codes(vocab.CATEGORIES)},
        "severity": {"type": "string", "enum": _codes(vocab.SEVERITIES)},
        "platform": {"type": "string"},
        "tlp": {"type": "string", "enum": _codes(vocab.TLP)},
        "status": {"type": "string", "enum": list(vocab.STATUSES)},
        "sender": _ref("SchoolRef"),
        "recipient_count": {"type": "integer", "minimum": 0},
        "attachment_count": {"type": "integer", "minimum": 0},
    }
    copy = {
        "school": _ref("SchoolRef"),
        "is_sender": {"type": "boolean"},
        "read_at": _nullable(TIME),
        "read_by": _nullable(_ref("MemberRef")),
        "acknowledged_at": _nullable(TIME),
        "acknowledged_by": _nullable(_ref("MemberRef")),
    }
    item = {
        "id": ID,
        "alert_id": ID,
        "kind": {"type": "string", "enum": ["reply", "acknowledgement", "action", "attachment"]},
        "created_at": TIME,
        "author_school": _ref("SchoolRef"),
        "author": _nullable(_ref("MemberRef")),
        "action_type": _nullable({"type": "string", "enum": _codes(vocab.ACTIONS)}),
    }
    key_generation = _obj(
        {
            "generation": {"type": "integer", "minimum": 1},
            "fingerprint": {
                "type": "string",
                "description": "60 digits in 12 groups of 5: read it aloud to compare.",
            },
            "public_keys": {
                **B64,
                "description": "SchoolPublicKeys.to_bytes() (docs/crypto.md), base64.",
            },
            "created_at": TIME,
            "verified_at": _nullable(TIME),
        }
    )
    school = {
        "id": ID,
        "name": {"type": "string"},
        "kind": {"type": "string", "enum": ["school", "office"]},
        "urn": _nullable({"type": "string"}),
        "status": {"type": "string", "enum": ["active", "suspended"]},
        "receives_alerts": {"type": "boolean"},
        "key_generation": {"type": "integer", "minimum": 0},
        "keys": _nullable(_ref("KeyGeneration")),
    }
    subscription = {
        "id": ID,
        "name": {"type": "string"},
        "personal": {"type": "boolean"},
        "channel": {"type": "string", "enum": [c.value for c in Channel]},
        "target": _nullable({"type": "string"}),
        "categories": {"type": "array", "items": {"type": "string"}},
        "min_severity": {"type": "string", "enum": _codes(vocab.SEVERITIES)},
        "senders": {"type": "array", "items": ID},
        "timing": {"type": "string", "enum": [t.value for t in Timing]},
        "digest_time": _nullable({"type": "string", "pattern": TIME_OF_DAY}),
        "created_at": TIME,
        "updated_at": TIME,
    }
    subscription_input = {
        "name": {"type": "string", "maxLength": 100},
        "channel": {"type": "string", "enum": [c.value for c in Channel]},
        "target": {
            "type": "string",
            "maxLength": 500,
            "description": "A webhook's https URL, or a shared email address (school "
            "subscriptions); leave out for a personal email (your own address).",
        },
        "categories": {
            "type": "array",
            "items": {"type": "string", "enum": _codes(vocab.CATEGORIES)},
            "maxItems": len(vocab.CATEGORIES),
            "description": "Empty: every category.",
        },
        "min_severity": {"type": "string", "enum": _codes(vocab.SEVERITIES)},
        "senders": {
            "type": "array",
            "items": ID,
            "maxItems": MAX_RECIPIENTS,
            "description": "Empty: every school.",
        },
        "timing": {"type": "string", "enum": [t.value for t in Timing]},
        "digest_time": {"type": "string", "pattern": TIME_OF_DAY, "example": "07:30"},
    }
    checkpoint = _obj(
        {
            "origin": {"type": "string"},
            "size": {"type": "integer", "minimum": 0},
            "root": B64,
            "signed_at": TIME,
            "note": {"type": "string", "description": "The C2SP signed note, exactly."},
        }
    )
    problem = _obj(
        {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": _obj({"field": {"type": "string"}, "message": {"type": "string"}}),
            },
        },
        required=["type", "title", "status", "detail"],
    )
    return {
        "Problem": problem,
        "SchoolRef": school_ref,
        "MemberRef": member_ref,
        "Token": _obj(
            {
                "id": ID,
                "name": {"type": "string"},
                "scopes": {
                    "type": "array",
                    "items": {"type": "string", "enum": [s.value for s in Scope]},
                },
                "created_at": TIME,
                "expires_at": TIME,
                "last_used_at": _nullable(TIME),
                "state": {"type": "string", "enum": ["live", "expired", "revoked", "orphaned"]},
            }
        ),
        "Me": _obj(
            {
                "member": _obj(
                    {
                        "id": ID,
                        "name": {"type": "string"},
                        "email": {"type": "string"},
                        "role": {
                            "type": "string",
                            "enum": ["hub_admin", "coordinator", "head", "staff"],
                        },
                    }
                ),
                "school": _nullable(
                    _obj(
                        {
                            "id": ID,
                            "name": {"type": "string"},
                            "kind": {"type": "string", "enum": ["school", "office"]},
                        }
                    )
                ),
                "token": _nullable(_ref("Token")),
                "keys_unlocked": {"type": "boolean"},
            }
        ),
        "InboxRow": _obj(
            {
                **metadata,
                "title": _nullable(
                    {"type": "string", "description": "Decrypted; null if not shown."}
                ),
                "problem": _nullable(
                    {"type": "string", "description": "Why the title is not shown."}
                ),
                "read_at": _nullable(TIME),
                "acknowledged_at": _nullable(TIME),
                "url": {"type": "string"},
            }
        ),
        "InboxPage": _obj(
            {
                "alerts": {"type": "array", "items": _ref("InboxRow")},
                "next_cursor": _nullable({"type": "string"}),
                "next": _nullable({"type": "string"}),
            }
        ),
        "Link": _obj(
            {
                "url": {"type": "string", "maxLength": MAX_URL},
                "seen_on": _nullable({"type": "string", "format": "date"}),
            },
            required=["url"],
        ),
        "Attachment": _obj(
            {
                "filename": {
                    "type": "string",
                    "maxLength": 255,
                    "description": ".png, .jpg, .jpeg, .webp or .pdf",
                },
                "content_type": {
                    "type": "string",
                    "maxLength": 100,
                    "description": "Optional; must agree with the file name.",
                },
                "data": {
                    **B64,
                    "description": f"The file, base64; at most "
                    f"{evidence.MAX_FILE_BYTES // (1024 * 1024)} MB decoded.",
                },
            },
            required=["filename", "data"],
        ),
        "NewAlert": _obj(
            {
                "category": {"type": "string", "enum": _codes(vocab.CATEGORIES)},
                "severity": {
                    "type": "string",
                    "enum": _codes(vocab.SEVERITIES),
                    "default": "medium",
                },
                "platform": {"type": "string", "enum": platforms},
                "tlp": {"type": "string", "enum": _codes(vocab.TLP), "default": "AMBER"},
                "title": {"type": "string", "minLength": 1, "maxLength": MAX_TITLE},
                "description": {"type": "string", "maxLength": MAX_DESCRIPTION},
                "links": {"type": "array", "items": _ref("Link"), "maxItems": MAX_LINKS},
                "recommended_action": {"type": "string", "maxLength": MAX_NOTE},
                "audience": {"type": "string", "enum": list(AUDIENCES), "default": "schools"},
                "schools": {
                    "type": "array",
                    "items": ID,
                    "maxItems": MAX_RECIPIENTS,
                    "description": "Recipient schools of your cluster (audience 'schools').",
                },
                "include_coordinator": {"type": "boolean", "default": False},
                "attachments": {
                    "type": "array",
                    "items": _ref("Attachment"),
                    "maxItems": evidence.MAX_FILES,
                },
            },
            required=["category", "platform", "title"],
        ),
        "Posted": _obj(
            {
                **metadata,
                "envelope_hash": HEX,
                "forwarded_from": _nullable(ID),
                "recipients": {"type": "array", "items": _ref("SchoolRef")},
                "url": {"type": "string"},
            }
        ),
        "Copy": _obj(copy),
        "Acknowledged": _obj({"alert_id": ID, **copy}),
        "ThreadItem": _obj(item),
        "OpenedItem": _obj(
            {
                **item,
                "text": _nullable({"type": "string"}),
                "attachment": _nullable(
                    _obj(
                        {
                            "filename": {"type": "string"},
                            "content_type": {"type": "string"},
                            "size": {"type": "integer"},
                            "url": {"type": "string"},
                        }
                    )
                ),
                "problem": _nullable({"type": "string"}),
            }
        ),
        "Alert": _obj(
            {
                **metadata,
                "sender_member": _nullable(_ref("MemberRef")),
                "resolved_at": _nullable(TIME),
                "shredded_at": _nullable(TIME),
                "forwarded_from": _nullable(ID),
                "envelope_hash": HEX,
                "sender_fingerprint": {"type": "string"},
                "content_visible": {
                    "type": "boolean",
                    "description": "False for a coordinator whose office is not a recipient.",
                },
                "verified": {
                    "type": "boolean",
                    "description": "Both signatures, the key commitment and the header "
                    "checked: content is present only then.",
                },
                "problem": _nullable({"type": "string"}),
                "content": _nullable(
                    _obj(
                        {
                            "title": {"type": "string"},
                            "description": {"type": "string"},
                            "links": {"type": "array", "items": _ref("Link")},
                            "recommended_action": {"type": "string"},
                            "forwarded_note": {"type": "string"},
                        }
                    )
                ),
                "thread": {"type": "array", "items": _ref("OpenedItem")},
                "recipients": {"type": "array", "items": _ref("Copy")},
            }
        ),
        "Resolved": _obj({"id": ID, "status": {"type": "string"}, "resolved_at": _nullable(TIME)}),
        "Subscription": _obj(subscription),
        "SubscriptionList": _obj(
            {"subscriptions": {"type": "array", "items": _ref("Subscription")}}
        ),
        "NewSubscription": _obj(
            {
                "personal": {
                    "type": "boolean",
                    "default": True,
                    "description": "False: the school's own (heads only).",
                },
                **subscription_input,
            },
            required=["channel"],
        ),
        "SubscriptionChange": _obj(subscription_input, required=[]),
        "SubscriptionSaved": _obj(
            {
                "subscription": _ref("Subscription"),
                "secret": _nullable(
                    {
                        "type": "string",
                        "description": "A new webhook's whsec_ secret: shown once.",
                    }
                ),
            }
        ),
        "KeyGeneration": key_generation,
        "School": _obj(school),
        "SchoolWithHistory": _obj(
            {**school, "history": {"type": "array", "items": _ref("KeyGeneration")}}
        ),
        "SchoolList": _obj({"schools": {"type": "array", "items": _ref("School")}}),
        "AuditKey": _obj(
            {
                "origin": {"type": "string"},
                "vkey": {"type": "string"},
                "algorithm": {"type": "string"},
                "key_id": {"type": "string"},
                "public_key": B64,
            }
        ),
        "Checkpoint": checkpoint,
        "InclusionProof": _obj(
            {
                "seq": {"type": "integer"},
                "tree_size": {"type": "integer"},
                "leaf_hash": B64,
                "proof": {"type": "array", "items": B64},
                "root": B64,
                "checkpoint": _nullable(_ref("Checkpoint")),
            }
        ),
        "ConsistencyProof": _obj(
            {
                "from": {"type": "integer"},
                "to": {"type": "integer"},
                "from_root": B64,
                "to_root": B64,
                "proof": {"type": "array", "items": B64},
                "checkpoint": _nullable(_ref("Checkpoint")),
            }
        ),
        "AuditEntry": _obj(
            {
                "seq": {"type": "integer"},
                "at": TIME,
                "action": {"type": "string"},
                "actor": _nullable(ID),
                "actor_role": _nullable({"type": "string"}),
                "cluster": _nullable(ID),
                "school": _nullable(ID),
                "object_type": _nullable({"type": "string"}),
                "object_id": _nullable({"type": "string"}),
                "envelope_hash": _nullable({"type": "string"}),
                "detail": {"type": "object"},
                "leaf": {"type": "string"},
                "leaf_hash": B64,
            }
        ),
        "AuditEntries": _obj(
            {
                "tree_size": {"type": "integer"},
                "start": {"type": "integer"},
                "end": {"type": "integer"},
                "entries": {"type": "array", "items": _ref("AuditEntry")},
                "next": _nullable({"type": "integer"}),
            }
        ),
    }


_PROBLEM_TEXT = {
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


def _problems(*statuses: int) -> dict[str, Any]:
    return {
        str(status): {
            "description": _PROBLEM_TEXT[status],
            "content": {"application/problem+json": {"schema": _ref("Problem")}},
        }
        for status in statuses
    }


def _json(schema: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


_READ = (400, 401, 403, 404, 429, 500)
_WRITE = (400, 401, 403, 404, 409, 413, 415, 422, 429, 500)
_SECURED = [{"bearer": []}, {"session": []}]


def _op(
    summary: str,
    scope: Scope | None,
    responses: dict[str, Any],
    *,
    problems: tuple[int, ...] = _READ,
    parameters: list[dict[str, Any]] | None = None,
    body: str | None = None,
    body_required: bool = True,
    idempotent: bool = False,
    public: bool = False,
    links: dict[str, Any] | None = None,
    tag: str,
    operation_id: str,
) -> dict[str, Any]:
    if links:
        success = next(code for code in responses if code.startswith("2"))
        responses = {**responses, success: {**responses[success], "links": links}}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {**responses, **_problems(*problems)},
    }
    if public:
        operation["security"] = []
    else:
        operation["security"] = _SECURED
        operation["x-alertnet-scope"] = scope.value if scope else "any"
        if scope:
            operation["description"] = f"Token scope: `{scope.value}`."
    params = list(parameters or [])
    if idempotent:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Retry with the same key to get the first answer instead of "
                "a second alert. Kept 24 hours; reusing it with another body is a 422.",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 255,
                    "pattern": "^[!-~]+$",
                },
            }
        )
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": _ref(body)}},
        }
    return operation


def _links(source: str, parameter: str, *operation_ids: str) -> dict[str, Any]:
    """OpenAPI links: the value at ``source`` (a runtime expression, like
    ``$response.body#/id``) is ``parameter`` of each of ``operation_ids``, so a
    client (and schemathesis's stateful run) can follow one call with the next."""
    return {
        operation_id[0].upper() + operation_id[1:]: {
            "operationId": operation_id,
            "parameters": {parameter: source},
        }
        for operation_id in operation_ids
    }


_ON_AN_ALERT = ("readAlert", "acknowledge", "reply", "recordAction", "resolve", "forward")


def _path(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": schema or ID,
    }


def _query(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": required,
        "description": description,
        "schema": schema,
    }
    if not required:
        # As the views read them: an empty value is the parameter left out.
        parameter["allowEmptyValue"] = True
    return parameter


def _inbox_parameters(platforms: list[str]) -> list[dict[str, Any]]:
    return [
        _query("status", {"type": "string", "enum": list(FILTER_STATUSES)}, "Filter by status."),
        _query("category", {"type": "string", "enum": _codes(vocab.CATEGORIES)}, "Category."),
        _query("severity", {"type": "string", "enum": _codes(vocab.SEVERITIES)}, "Severity."),
        _query("platform", {"type": "string", "enum": platforms}, "Platform."),
        _query("sender", ID, "Only alerts from this school."),
        _query("cursor", {"type": "string", "maxLength": 200}, "next_cursor of the last page."),
        _query(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": PAGE_LIMIT, "default": DEFAULT_PAGE},
            "Alerts per page.",
        ),
    ]


def _paths(platforms: list[str]) -> dict[str, Any]:
    alert_id = _path("alert_id", "The alert's id.")
    sub_id = _path("subscription_id", "The subscription's id.")
    alerts, subs, schools, audit, meta = "alerts", "subscriptions", "directory", "audit", "meta"
    return {
        "/openapi.json": {
            "get": _op(
                "This document",
                None,
                {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {}}}},
                problems=(429, 500),
                public=True,
                tag=meta,
                operation_id="openapi",
            )
        },
        "/me": {
            "get": _op(
                "Who this token or session acts as",
                None,
                {"200": _json("Me", "The member, their school and the token.")},
                problems=(401, 403, 429, 500),
                tag=meta,
                operation_id="me",
            )
        },
        "/alerts": {
            "get": _op(
                "The school's inbox, newest first (titles decrypted)",
                Scope.INBOX_READ,
                {"200": _json("InboxPage", "One page; follow next_cursor for the next.")},
                parameters=_inbox_parameters(platforms),
                links=_links("$response.body#/alerts/0/id", "alert_id", *_ON_AN_ALERT),
                tag=alerts,
                operation_id="inbox",
            ),
            "post": _op(
                "Post an alert (sealed to every recipient, signed by your school)",
                Scope.ALERTS_WRITE,
                {
                    "201": {
                        **_json("Posted", "Posted: metadata only."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    }
                },
                problems=_WRITE,
                body="NewAlert",
                idempotent=True,
                links=_links("$response.body#/id", "alert_id", *_ON_AN_ALERT),
                tag=alerts,
                operation_id="postAlert",
            ),
        },
        "/alerts/sent": {
            "get": _op(
                "The school's sent alerts",
                Scope.INBOX_READ,
                {"200": _json("InboxPage", "One page.")},
                parameters=_inbox_parameters(platforms),
                links=_links("$response.body#/alerts/0/id", "alert_id", *_ON_AN_ALERT),
                tag=alerts,
                operation_id="sentAlerts",
            )
        },
        "/alerts/{alert_id}": {
            "get": _op(
                "Read an alert: decrypted, both signatures verified, the opening audited",
                Scope.INBOX_READ,
                {"200": _json("Alert", "The alert, its thread and its recipients.")},
                parameters=[alert_id],
                problems=(*_READ, 409),
                tag=alerts,
                operation_id="readAlert",
            )
        },
        "/alerts/{alert_id}/attachments/{item_id}": {
            "get": _op(
                "Download one evidence file (audited)",
                Scope.INBOX_READ,
                {
                    "200": {
                        "description": "The file, with its name in Content-Disposition.",
                        "content": {
                            media: {"schema": {"type": "string", "format": "binary"}}
                            for media in (
                                "image/png",
                                "image/jpeg",
                                "image/webp",
                                "application/pdf",
                            )
                        },
                    }
                },
                parameters=[alert_id, _path("item_id", "The attachment's id.")],
                problems=(*_READ, 409),
                tag=alerts,
                operation_id="downloadAttachment",
            )
        },
        "/alerts/{alert_id}/acknowledge": {
            "post": _op(
                "Acknowledge for your school (once), with an optional comment",
                Scope.ALERTS_WRITE,
                {"200": _json("Acknowledged", "Acknowledged.")},
                parameters=[alert_id],
                problems=_WRITE,
                body="Acknowledgement",
                body_required=False,
                tag=alerts,
                operation_id="acknowledge",
            )
        },
        "/alerts/{alert_id}/replies": {
            "post": _op(
                "Reply to every school that received the alert",
                Scope.ALERTS_WRITE,
                {"201": _json("ThreadItem", "The reply (its text is sealed).")},
                parameters=[alert_id],
                problems=_WRITE,
                body="Reply",
                idempotent=True,
                tag=alerts,
                operation_id="reply",
            )
        },
        "/alerts/{alert_id}/actions": {
            "post": _op(
                "Record an action taken (its type in clear, its note sealed)",
                Scope.ALERTS_WRITE,
                {"201": _json("ThreadItem", "The action.")},
                parameters=[alert_id],
                problems=_WRITE,
                body="Action",
                idempotent=True,
                tag=alerts,
                operation_id="recordAction",
            )
        },
        "/alerts/{alert_id}/resolve": {
            "post": _op(
                "Resolve an alert your school sent",
                Scope.ALERTS_WRITE,
                {"200": _json("Resolved", "Resolved.")},
                parameters=[alert_id],
                problems=_WRITE,
                body="Empty",
                body_required=False,
                tag=alerts,
                operation_id="resolve",
            )
        },
        "/alerts/{alert_id}/forward": {
            "post": _op(
                "Forward as a new alert from your school (not RED or AMBER+STRICT)",
                Scope.ALERTS_WRITE,
                {
                    "201": {
                        **_json("Posted", "The new alert: metadata only."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    }
                },
                parameters=[alert_id],
                problems=_WRITE,
                body="Forward",
                idempotent=True,
                links=_links("$response.body#/id", "alert_id", *_ON_AN_ALERT),
                tag=alerts,
                operation_id="forward",
            )
        },
        "/subscriptions": {
            "get": _op(
                "Your subscriptions (and, for a head, the school's)",
                Scope.SUBSCRIPTIONS_READ,
                {"200": _json("SubscriptionList", "Subscriptions.")},
                tag=subs,
                operation_id="listSubscriptions",
            ),
            "post": _op(
                "Create a subscription",
                Scope.SUBSCRIPTIONS_WRITE,
                {
                    "201": {
                        **_json("SubscriptionSaved", "Created; a webhook's secret shown once."),
                        "headers": {"Location": {"schema": {"type": "string"}}},
                    }
                },
                problems=_WRITE,
                body="NewSubscription",
                links=_links(
                    "$response.body#/subscription/id",
                    "subscription_id",
                    "getSubscription",
                    "changeSubscription",
                    "deleteSubscription",
                ),
                tag=subs,
                operation_id="createSubscription",
            ),
        },
        "/subscriptions/{subscription_id}": {
            "get": _op(
                "One subscription",
                Scope.SUBSCRIPTIONS_READ,
                {"200": _json("Subscription", "The subscription.")},
                parameters=[sub_id],
                tag=subs,
                operation_id="getSubscription",
            ),
            "patch": _op(
                "Change a subscription (only the fields sent)",
                Scope.SUBSCRIPTIONS_WRITE,
                {"200": _json("SubscriptionSaved", "Changed.")},
                parameters=[sub_id],
                problems=_WRITE,
                body="SubscriptionChange",
                tag=subs,
                operation_id="changeSubscription",
            ),
            "delete": _op(
                "Delete a subscription (deliveries not yet made are cancelled)",
                Scope.SUBSCRIPTIONS_WRITE,
                {"204": {"description": "Deleted."}},
                parameters=[sub_id],
                problems=(*_READ, 409),
                tag=subs,
                operation_id="deleteSubscription",
            ),
        },
        "/schools": {
            "get": _op(
                "Your cluster's schools and office, with public keys and fingerprints",
                Scope.DIRECTORY_READ,
                {"200": _json("SchoolList", "The directory.")},
                links=_links("$response.body#/schools/0/id", "school_id", "getSchool"),
                tag=schools,
                operation_id="listSchools",
            )
        },
        "/schools/{school_id}": {
            "get": _op(
                "One school of your cluster with every generation of its keys",
                Scope.DIRECTORY_READ,
                {"200": _json("SchoolWithHistory", "The school.")},
                parameters=[_path("school_id", "The school's id.")],
                tag=schools,
                operation_id="getSchool",
            )
        },
        "/audit/key": {
            "get": _op(
                "The audit log's public key (pin its vkey)",
                None,
                {"200": _json("AuditKey", "The key.")},
                problems=(429, 500),
                public=True,
                tag=audit,
                operation_id="auditKey",
            )
        },
        "/audit/checkpoint": {
            "get": _op(
                "The latest signed checkpoint",
                Scope.AUDIT_READ,
                {"200": _json("Checkpoint", "The signed note and its fields.")},
                links=_links("$response.body#/size", "from", "auditConsistency"),
                tag=audit,
                operation_id="auditCheckpoint",
            )
        },
        "/audit/proofs/inclusion": {
            "get": _op(
                "An entry's inclusion proof",
                Scope.AUDIT_READ,
                {"200": _json("InclusionProof", "The proof and the checkpoint it is against.")},
                parameters=[
                    _query("seq", SEQ, "The entry's seq.", required=True),
                    _query("size", SIZE, "Tree size."),
                ],
                tag=audit,
                operation_id="auditInclusion",
            )
        },
        "/audit/proofs/consistency": {
            "get": _op(
                "A consistency proof between two tree sizes",
                Scope.AUDIT_READ,
                {"200": _json("ConsistencyProof", "The proof and both roots.")},
                parameters=[
                    _query("from", SIZE, "Older tree size.", required=True),
                    _query("to", SIZE, "Newer tree size."),
                ],
                tag=audit,
                operation_id="auditConsistency",
            )
        },
        "/audit/entries": {
            "get": _op(
                "Audit entries in your scope (heads, coordinators)",
                Scope.AUDIT_READ,
                {"200": _json("AuditEntries", "Entries, oldest first.")},
                links=_links(
                    "$response.body#/entries/0/seq", "seq", "auditEntry", "auditInclusion"
                ),
                parameters=[
                    _query("start", SEQ, "First seq."),
                    _query("end", SEQ, "Stop before this seq."),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        "At most this many.",
                    ),
                    _query("school", ID, "School id."),
                    _query("actor", ID, "Member id."),
                    _query("action", {"type": "string", "maxLength": 64}, "Action."),
                    _query("object_type", {"type": "string", "maxLength": 32}, "Object type."),
                    _query("object_id", {"type": "string", "maxLength": 64}, "Object id."),
                    _query("since", {"type": "string", "format": "date"}, "From this day."),
                    _query("until", {"type": "string", "format": "date"}, "To this day."),
                ],
                tag=audit,
                operation_id="auditEntries",
            )
        },
        "/audit/entries/{seq}": {
            "get": _op(
                "One audit entry in your scope",
                Scope.AUDIT_READ,
                {"200": _json("AuditEntry", "The entry.")},
                parameters=[_path("seq", "Sequence number.", SEQ)],
                tag=audit,
                operation_id="auditEntry",
            )
        },
    }


def _bodies() -> dict[str, Any]:
    note = {"type": "string", "maxLength": MAX_NOTE}
    return {
        "Acknowledgement": _obj({"comment": note}, required=[]),
        "Reply": _obj({"text": {**note, "minLength": 1}}),
        "Action": _obj(
            {"action_type": {"type": "string", "enum": _codes(vocab.ACTIONS)}, "note": note},
            required=["action_type"],
        ),
        "Forward": _obj(
            {"schools": {"type": "array", "items": ID, "maxItems": MAX_RECIPIENTS}, "note": note},
            required=["schools"],
        ),
        "Empty": _obj({}, required=[]),
    }


def document(platforms: list[str]) -> dict[str, Any]:
    scopes = "\n".join(f"- `{s.value}`: {s.description}." for s in Scope)
    return {
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
        "servers": [{"url": "/api/v1"}],
        "paths": _paths(platforms),
        "components": {
            "schemas": {**_schemas(platforms), **_bodies()},
            "securitySchemes": {
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
                    "description": "A signed-in browser; unsafe methods also need the "
                    "X-CSRFToken header.",
                },
            },
        },
    }
