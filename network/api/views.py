"""The JSON API under /api/v1 (docs/api.md; described at /api/v1/openapi.json).

Each view has the pages' shape: read the input into typed values, call the same
service function the page calls with ``(session, actor, ...)``, return JSON.
Who may do what is decided by the same functions as for the pages
(network/alerts/access.py, schools/policy.py), after the gate (gate.py) has
checked the token's scope.
"""

from __future__ import annotations

import base64
import binascii
import math
import uuid
from datetime import date
from typing import Any

from flask import Response, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from network import auth, security
from network.alerts import evidence as evidence_files
from network.alerts import forwarding, posting, thread, vocab
from network.alerts.content import (
    MAX_DESCRIPTION,
    MAX_LINKS,
    MAX_NOTE,
    MAX_TITLE,
    MAX_URL,
    AlertContent,
    Link,
    clean_text,
    parse_link,
)
from network.alerts.inbox import InboxFilters, inbox_for
from network.alerts.keychain import unlocked
from network.alerts.platforms import platforms
from network.alerts.reading import download, open_alert
from network.api import directory, documents, gate, idempotency, inputs, openapi
from network.api.gate import ANY_SCOPE, operation
from network.api.inputs import Fields
from network.api.limits import MAX_RECIPIENTS, PAGE_LIMIT
from network.db import db
from network.notifications import subscriptions as notify
from network.notifications.models import Channel, Subscription, Timing
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.policy import Permission, Scope

bp = gate.ApiBlueprint("api", __name__, url_prefix="/api/v1")
gate.limit_blueprint(bp)

# Base64 of the largest evidence file, and a little room for line breaks.
MAX_ATTACHMENT_CHARS = math.ceil(evidence_files.MAX_FILE_BYTES / 3) * 4 + 1024


def _principal_id() -> uuid.UUID:
    token = gate.current_token()
    return token.id if token is not None else auth.actor().id


@bp.route("/openapi.json", methods=["GET"])
@auth.public
def openapi_document() -> Any:
    return jsonify(openapi.document([p.code for p in platforms(db())]))


@bp.route("/me", methods=["GET"])
@operation(None, ANY_SCOPE)
def me() -> Any:
    """Who this token (or session) acts as."""
    member = auth.actor()
    keys = auth.school_keys() if member.school is not None else None
    return documents.me(member, gate.current_token(), keys is not None, utcnow())


# --- inbox ------------------------------------------------------------------------------


def _box(sent: bool) -> Any:
    actor = auth.actor()
    args = inputs.query()
    platform_codes = {p.code for p in platforms(db())}
    filters = InboxFilters(
        status=args.choice("status", vocab.FILTER_STATUSES),
        category=args.choice("category", vocab.codes(vocab.CATEGORIES)),
        severity=args.choice("severity", vocab.codes(vocab.SEVERITIES)),
        platform=args.choice("platform", platform_codes),
        sender=args.identifier("sender"),
    )
    cursor = args.text("cursor", limit=200) or None
    limit = args.integer("limit", minimum=1, maximum=PAGE_LIMIT, default=vocab.PAGE_SIZE)
    args.done()
    with inputs.as_bad_request():
        page = inbox_for(db(), actor, auth.school_keys(), filters, cursor, sent=sent, limit=limit)
    kept = {k: v for k, v in request.args.items() if k != "cursor" and v}
    next_url = (
        url_for(request.endpoint or "api.inbox", cursor=page.next_cursor, **kept)
        if page.next_cursor
        else None
    )
    return documents.inbox(page, next_url)


@bp.route("/alerts", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ)
def inbox() -> Any:
    return _box(sent=False)


@bp.route("/alerts/sent", methods=["GET"])
@operation(Permission.POST_ALERTS, Scope.INBOX_READ)
def sent() -> Any:
    return _box(sent=True)


# --- posting ------------------------------------------------------------------------------


def _links(body: Fields, today: date) -> tuple[Link, ...]:
    """Each link checked as a line of the form is: the address, then the date."""
    links: list[Link] = []
    for _index, item in body.objects("links", limit=MAX_LINKS):
        url = item.text("url", limit=MAX_URL, required=True)
        seen_on = item.day("seen_on")
        if not url:
            continue
        try:
            links.append(parse_link(url, seen_on, today))
        except InvalidInput as error:
            item.fail(error.field or "url", error.message)
    return tuple(links)


def _attachments(body: Fields) -> tuple[Any, ...]:
    files = []
    for index, item in body.objects("attachments", limit=evidence_files.MAX_FILES):
        filename = item.text("filename", limit=255, required=True)
        content_type = item.text("content_type", limit=100)
        encoded = item.text("data", limit=MAX_ATTACHMENT_CHARS, required=True)
        if not filename or not encoded:
            continue
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError):
            item.fail("data", "'data' must be the file's bytes in base64.")
            continue
        try:
            files.append(evidence_files.prepare(filename, content_type, data))
        except InvalidInput as error:
            body.fail(f"attachments[{index}]", error.message)
    return tuple(files)


def _alert_draft(body: Fields) -> posting.AlertDraft:
    """The same fields as the form; each problem names its field."""
    platform_codes = {p.code for p in platforms(db())}
    category = body.choice("category", vocab.codes(vocab.CATEGORIES), required=True)
    severity = body.choice("severity", vocab.codes(vocab.SEVERITIES), default="medium")
    platform = body.choice("platform", platform_codes, required=True)
    tlp = body.choice("tlp", vocab.codes(vocab.TLP), default="AMBER")
    texts = {}
    for name, label, limit, required in (
        ("title", "title", MAX_TITLE, True),
        ("description", "description", MAX_DESCRIPTION, False),
        ("recommended_action", "recommended action", MAX_NOTE, False),
    ):
        refused = len(body.errors)
        raw = body.text(name, limit=limit, required=required)
        if len(body.errors) > refused:
            continue  # already named, once is enough
        try:
            texts[name] = clean_text(raw, name, label, limit, required=required and body.has(name))
        except InvalidInput as error:
            body.fail(name, error.message)
    links = _links(body, date.today())
    audience = body.choice("audience", vocab.AUDIENCES, default="schools")
    school_ids = body.identifiers("schools", limit=MAX_RECIPIENTS)
    include_coordinator = body.boolean("include_coordinator")
    evidence = _attachments(body)
    body.done()
    return posting.AlertDraft(
        category=category,
        severity=severity,
        platform=platform,
        tlp=tlp,
        content=AlertContent(
            title=texts["title"],
            description=texts["description"],
            links=links,
            recommended_action=texts["recommended_action"],
        ),
        audience=audience,
        school_ids=school_ids,
        include_coordinator=include_coordinator,
        evidence=evidence,
    )


def _posted(posted: posting.Posted) -> tuple[dict[str, Any], int, str]:
    location = url_for("api.read_alert", alert_id=posted.alert.id)
    return documents.posted(posted.alert, list(posted.recipients)), 201, location


@bp.route("/alerts", methods=["POST"])
@operation(Permission.POST_ALERTS, Scope.ALERTS_WRITE)
@security.large_json_body
def post_alert() -> Any:
    """Post an alert; with an Idempotency-Key, a retry gets the first answer."""
    actor = auth.actor()

    def post() -> tuple[dict[str, Any], int, str]:
        draft = _alert_draft(inputs.json_body())
        return _posted(posting.post_alert(db(), actor, unlocked(auth.school_keys()), draft))

    return idempotency.once(db(), _principal_id(), post)


# --- one alert ------------------------------------------------------------------------------


@bp.route("/alerts/<uuid:alert_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ)
def read_alert(alert_id: uuid.UUID) -> Any:
    """Decrypt, verify and return an alert and its thread; the opening is audited."""
    return documents.opened(open_alert(db(), auth.actor(), auth.school_keys(), alert_id))


@bp.route("/alerts/<uuid:alert_id>/attachments/<uuid:item_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ)
def attachment(alert_id: uuid.UUID, item_id: uuid.UUID) -> Any:
    evidence = download(db(), auth.actor(), auth.school_keys(), alert_id, item_id)
    return security.evidence_download(evidence)


@bp.route("/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def acknowledge(alert_id: uuid.UUID) -> Any:
    body = inputs.json_body(optional=True)
    comment = body.text("comment", limit=MAX_NOTE)
    body.done()
    copy = thread.acknowledge(db(), auth.actor(), auth.school_keys(), alert_id, comment)
    return documents.acknowledged(copy)


@bp.route("/alerts/<uuid:alert_id>/replies", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def reply(alert_id: uuid.UUID) -> Any:
    actor = auth.actor()

    def add() -> tuple[dict[str, Any], int, str | None]:
        body = inputs.json_body()
        text = body.text("text", limit=MAX_NOTE, required=True)
        body.done()
        item = thread.reply(db(), actor, unlocked(auth.school_keys()), alert_id, text)
        return documents.thread_item(item), 201, None

    return idempotency.once(db(), _principal_id(), add)


@bp.route("/alerts/<uuid:alert_id>/actions", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def record_action(alert_id: uuid.UUID) -> Any:
    actor = auth.actor()

    def add() -> tuple[dict[str, Any], int, str | None]:
        body = inputs.json_body()
        action_type = body.choice("action_type", vocab.codes(vocab.ACTIONS), required=True)
        note = body.text("note", limit=MAX_NOTE)
        body.done()
        item = thread.record_action(
            db(), actor, unlocked(auth.school_keys()), alert_id, action_type, note
        )
        return documents.thread_item(item), 201, None

    return idempotency.once(db(), _principal_id(), add)


@bp.route("/alerts/<uuid:alert_id>/resolve", methods=["POST"])
@operation(Permission.POST_ALERTS, Scope.ALERTS_WRITE)
def resolve(alert_id: uuid.UUID) -> Any:
    inputs.json_body(optional=True).done()
    return documents.resolved(thread.resolve(db(), auth.actor(), alert_id))


@bp.route("/alerts/<uuid:alert_id>/forward", methods=["POST"])
@operation(Permission.POST_ALERTS, Scope.ALERTS_WRITE)
def forward(alert_id: uuid.UUID) -> Any:
    actor = auth.actor()

    def send() -> tuple[dict[str, Any], int, str]:
        body = inputs.json_body()
        school_ids = body.identifiers("schools", limit=MAX_RECIPIENTS)
        note = body.text("note", limit=MAX_NOTE)
        body.done()
        return _posted(
            forwarding.forward(
                db(), actor, unlocked(auth.school_keys()), alert_id, school_ids, note
            )
        )

    return idempotency.once(db(), _principal_id(), send)


# --- subscriptions ----------------------------------------------------------------------------

_CHANNELS = tuple(c.value for c in Channel)
_TIMINGS = tuple(t.value for t in Timing)


def _subscription_draft(
    body: Fields, current: Subscription | None = None
) -> notify.SubscriptionDraft:
    def keep(name: str, default: Any) -> Any:
        return getattr(current, name) if current is not None else default

    channel = body.choice(
        "channel", _CHANNELS, required=current is None, default=keep("channel", "")
    )
    name = body.text("name", limit=100, default=keep("name", ""))
    target = body.text("target", limit=500, default=keep("target", None) or "")
    categories = (
        body.choices("categories", vocab.codes(vocab.CATEGORIES), limit=len(vocab.CATEGORIES))
        if body.has("categories") or current is None
        else tuple(current.categories or ())
    )
    min_severity = body.choice(
        "min_severity", vocab.codes(vocab.SEVERITIES), default=keep("min_severity", "info")
    )
    senders = (
        body.identifiers("senders", limit=MAX_RECIPIENTS)
        if body.has("senders") or current is None
        else tuple(uuid.UUID(s) for s in current.sender_school_ids or ())
    )
    timing = body.choice("timing", _TIMINGS, default=keep("timing", Timing.IMMEDIATE.value))
    digest_time = (
        body.time_of_day("digest_time")
        if body.has("digest_time") or current is None
        else current.digest_time
    )
    return notify.SubscriptionDraft(
        channel=channel,
        name=name,
        target=target,
        categories=categories,
        min_severity=min_severity,
        sender_school_ids=senders,
        timing=timing,
        digest_time=digest_time,
    )


@bp.route("/subscriptions", methods=["GET"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_READ)
def subscriptions() -> Any:
    """The caller's own subscriptions and, for a head, the school's."""
    mine = notify.subscriptions_of(db(), auth.actor())
    return {"subscriptions": [documents.subscription(s) for s in [*mine.mine, *mine.school]]}


@bp.route("/subscriptions", methods=["POST"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_WRITE)
def create_subscription() -> Any:
    body = inputs.json_body()
    personal = body.boolean("personal", default=True)
    draft = _subscription_draft(body)
    body.done()
    row, secret = notify.create_subscription(
        db(), auth.actor(), draft, personal=personal, settings=gate.settings()
    )
    document = {"subscription": documents.subscription(row), "secret": secret}
    location = url_for("api.subscription", subscription_id=row.id)
    return document, 201, {"Location": location}


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["GET"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_READ)
def subscription(subscription_id: uuid.UUID) -> Any:
    return documents.subscription(notify.subscription_for(db(), auth.actor(), subscription_id))


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["PATCH"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_WRITE)
def update_subscription(subscription_id: uuid.UUID) -> Any:
    actor = auth.actor()
    current = notify.subscription_for(db(), actor, subscription_id)
    body = inputs.json_body()
    draft = _subscription_draft(body, current)
    body.done()
    row, secret = notify.update_subscription(db(), actor, subscription_id, draft, gate.settings())
    return {"subscription": documents.subscription(row), "secret": secret}


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["DELETE"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_WRITE)
def delete_subscription(subscription_id: uuid.UUID) -> Any:
    notify.delete_subscription(db(), auth.actor(), subscription_id)
    return Response(status=204)


# --- the directory ------------------------------------------------------------------------------


@bp.route("/schools", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.DIRECTORY_READ)
def schools() -> Any:
    """The caller's cluster: its schools and office, with their current public keys."""
    rows = directory.cluster_schools(db(), auth.actor())
    return {"schools": [documents.school(s, keys, None) for s, keys in rows]}


@bp.route("/schools/<uuid:school_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.DIRECTORY_READ)
def school(school_id: uuid.UUID) -> Any:
    row, current, history = directory.school_entry(db(), auth.actor(), school_id)
    return documents.school(row, current, history)


# --- anything else under /api/v1 ----------------------------------------------------------

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@bp.route("/<path:rest>", methods=[*(m for m in _METHODS if m != "HEAD"), "OPTIONS", "TRACE"])
@auth.public  # it authenticates below, unless the path is a public endpoint's
def unknown(rest: str) -> Any:
    """Callers learn that a path does not exist (404) or which methods it answers
    (405 with Allow), after authenticating as everywhere (401), except on the
    public endpoints' paths."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed, public = [], False
    for method in _METHODS:
        try:
            endpoint, _ = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != request.endpoint:
            allowed.append(method)
            view = current_app.view_functions.get(endpoint)
            public = public or getattr(view, "_alertnet_public", False)
    if not public:
        gate.authenticate_or_refuse()
    if allowed:
        raise MethodNotAllowed(valid_methods=allowed)
    area, name = ("audit API", rest[6:]) if rest.startswith("audit/") else ("API", rest)
    raise NotFound(
        f"There is no {area} endpoint '{name[:100]}'. The API is described at /api/v1/openapi.json."
    )
