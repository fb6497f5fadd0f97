"""The JSON API under /api/v1 (docs/api.md; described at /api/v1/openapi.json).

Each view has the pages' shape: its input arrives parsed into a typed model
(contract.py), it calls the same service function the page calls with
``(session, actor, ...)``, and answers with a document (documents.py). Who may
do what is decided by the same functions as for the pages
(network/alerts/access.py, schools/policy.py), after the gate (gate.py) has
checked the token's scope.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from network import auth, security
from network.alerts import (
    closing,
    export,
    forwarding,
    platforms,
    reading,
    referrals,
    review,
    sending,
    thread,
    withdrawal,
)
from network.alerts import held as held_alerts
from network.alerts.inbox import inbox_for
from network.alerts.keychain import unlocked
from network.alerts.pdf import pdf_download
from network.alerts.referrals import ReferralInput
from network.alerts.sealing import IntegrityFailure
from network.api import directory, gate, openapi, written
from network.api.contract import (
    Accepted,
    Created,
    Written,
    follow,
    not_an_operation,
    operation,
)
from network.api.documents import (
    Acknowledged,
    Alert,
    CopyStatus,
    InboxPage,
    Me,
    MemberList,
    Posted,
    Resolved,
    SchoolList,
    SchoolMember,
    SchoolWithHistory,
    Subscription,
    SubscriptionList,
    SubscriptionSaved,
    ThreadItem,
    Withdrawn,
)
from network.api.documents import School as SchoolDocument
from network.api.gate import ANY_SCOPE
from network.api.inputs import (
    EVIDENCE_TYPES,
    Acknowledgement,
    Action,
    AlertId,
    Closing,
    Correction,
    Empty,
    Forward,
    HeldId,
    InboxQuery,
    ItemId,
    MayPost,
    MemberId,
    NewAlert,
    NewSubscription,
    Reply,
    Resolution,
    ReviewNote,
    SchoolId,
    Sighting,
    SubscriptionChange,
    SubscriptionId,
    Withdrawal,
)
from network.api.review_documents import InReview, ReviewDecision, ReviewQueue, WaitingForReview
from network.db import db, record_security_event
from network.notifications import subscriptions as notify
from network.settings import current as settings
from schools import roles
from schools.db import utcnow
from schools.policy import Permission, Scope

bp = gate.ApiBlueprint("api", __name__, url_prefix="/api/v1")
gate.limit_blueprint(bp)

# What can be done next with the alert an answer names.
ON_AN_ALERT = (
    "readAlert",
    "acknowledge",
    "reply",
    "recordAction",
    "resolve",
    "forward",
    "withdraw",
    "correct",
)
ON_THE_FIRST_ALERT = follow("/alerts/0/id", "alert_id", *ON_AN_ALERT)
ON_THE_ALERT = follow("/id", "alert_id", *ON_AN_ALERT)


@bp.route("/openapi.json", methods=["GET"])
@operation(public=True, operation_id="openapi")
def openapi_document() -> dict[str, Any]:
    """This document."""
    return openapi.served(current_app, [p.code for p in platforms.platforms(db())])


@bp.route("/me", methods=["GET"])
@operation(None, ANY_SCOPE)
def me() -> Me:
    """Who this token or session acts as."""
    member = auth.actor()
    keys = auth.school_keys() if member.school is not None else None
    return Me.of(member, gate.current_token(), keys is not None, utcnow())


# --- the inbox ------------------------------------------------------------------------------


def _box(query: InboxQuery, sent: bool) -> Written[InboxPage]:
    page = inbox_for(
        db(),
        auth.actor(),
        auth.school_keys(),
        query.filters(),
        query.cursor or None,
        sent=sent,
        limit=query.limit,
    )
    kept: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor" and v}
    next_url = (
        url_for(request.endpoint or "api.inbox", cursor=page.next_cursor, **kept)
        if page.next_cursor
        else None
    )
    return Written(written.inbox_page(page, next_url, sent))


@bp.route("/alerts", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ, links=ON_THE_FIRST_ALERT)
def inbox(query: InboxQuery) -> Written[InboxPage]:
    """The school's inbox, newest first (titles decrypted)."""
    return _box(query, sent=False)


@bp.route("/alerts/sent", methods=["GET"])
@operation(Permission.POST_ALERTS, Scope.INBOX_READ, links=ON_THE_FIRST_ALERT)
def sent_alerts(query: InboxQuery) -> Written[InboxPage]:
    """The school's sent alerts."""
    return _box(query, sent=True)


@bp.route("/alerts", methods=["POST"])
@operation(Permission.POST_ALERTS, Scope.ALERTS_WRITE, idempotent=True, links=ON_THE_ALERT)
@security.large_json_body
def post_alert(body: NewAlert) -> Created[Posted] | Accepted[InReview]:
    """Post an alert (sealed to every recipient, signed by your school).

    When your school reviews alerts from staff and you are staff, it is not sent
    but waits, sealed to your school, for a head or safeguarding lead to approve
    it (four-eyes review): the answer is 202 with the waiting alert's id and
    state, and the reviewers are told. With an Idempotency-Key, a retry gets the
    first answer instead of posting (or submitting) again."""
    evidence = body.draft().evidence  # every field checked as the API words it
    keys = unlocked(auth.school_keys())
    submitted = sending.submit(db(), auth.actor(), keys, body.form(), evidence, date.today())
    if submitted.in_review is not None:
        return Accepted(InReview.of(submitted.in_review))
    posted = submitted.posted
    return Created(Posted.of(posted), url_for("api.read_alert", alert_id=posted.alert.id))


# --- one alert ------------------------------------------------------------------------------


@bp.route("/alerts/<uuid:alert_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ, also=(409,))
def read_alert(alert_id: AlertId) -> Alert:
    """Read an alert: decrypted, both signatures verified, the opening audited.
    An alert whose record on the hub does not match what its sender signed is a
    409 problem with `"verified": false`."""
    opened = reading.open_alert(db(), auth.actor(), auth.school_keys(), alert_id)
    if opened.integrity_failed:
        # The refusal rolls the request back: its audit entry is committed on its own.
        record_security_event(
            "alert.integrity_failed",
            actor=auth.actor(),
            object_type="alert",
            object_id=alert_id,
            alert_failed=True,
        )
        raise IntegrityFailure(opened.problem)
    return Alert.of(opened)


@bp.route("/alerts/<uuid:alert_id>/attachments/<uuid:item_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ, also=(409,), files=EVIDENCE_TYPES)
def download_attachment(alert_id: AlertId, item_id: ItemId) -> Response:
    """Download one evidence file (audited)."""
    evidence = reading.download(db(), auth.actor(), auth.school_keys(), alert_id, item_id)
    return security.evidence_download(evidence)


@bp.route("/alerts/<uuid:alert_id>/alert.pdf", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.INBOX_READ, also=(409,), files=("application/pdf",))
def alert_pdf(alert_id: AlertId) -> Response:
    """The alert with its thread, signatures and fingerprints as a PDF (audited)."""
    exported = export.export_alert(
        db(), auth.actor(), auth.school_keys(), alert_id, export.ExportMedium.PDF
    )
    return pdf_download(exported)


@bp.route("/alerts/<uuid:alert_id>/acknowledge", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def acknowledge(alert_id: AlertId, body: Acknowledgement) -> Acknowledged:
    """Acknowledge for your school (once), with an optional comment."""
    copy = thread.acknowledge(db(), auth.actor(), auth.school_keys(), alert_id, body.comment)
    return Acknowledged.model_validate(copy)


@bp.route("/alerts/<uuid:alert_id>/replies", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE, idempotent=True)
def reply(alert_id: AlertId, body: Reply) -> Created[ThreadItem]:
    """Reply to every school that received the alert."""
    item = thread.reply(db(), auth.actor(), unlocked(auth.school_keys()), alert_id, body.text)
    return Created(ThreadItem.model_validate(item))


@bp.route("/alerts/<uuid:alert_id>/actions", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE, idempotent=True)
def record_action(alert_id: AlertId, body: Action) -> Created[ThreadItem]:
    """Record an action taken: a referral or step. Its type (the agency), date and
    follow-up due date in clear; its reference number and note sealed."""
    keys = unlocked(auth.school_keys())
    given = ReferralInput(
        body.action_type, body.note, body.reference, body.referred_on, body.due_on
    )
    item = referrals.record_action(db(), auth.actor(), keys, alert_id, given)
    return Created(ThreadItem.model_validate(item))


@bp.route("/alerts/<uuid:alert_id>/sightings", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE, idempotent=True)
def record_sighting(alert_id: AlertId, body: Sighting) -> Created[ThreadItem]:
    """We've seen this too: tell the alert's schools yours saw it as well (on a
    forward, the original's schools hear of it too). Refused (403) to a school
    that did not receive the alert."""
    keys = unlocked(auth.school_keys())
    items = thread.record_sighting(db(), auth.actor(), keys, alert_id, body.seen_on, body.where)
    return Created(ThreadItem.model_validate(items[0]))


@bp.route("/alerts/<uuid:alert_id>/resolve", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def resolve(alert_id: AlertId, body: Resolution) -> Resolved:
    """Resolve an alert your school sent, with a note and `"confirm": true`.

    It closes for your school only: recipients can still acknowledge, reply
    and record actions."""
    keys = unlocked(auth.school_keys())
    alert = closing.resolve(db(), auth.actor(), keys, alert_id, body.note, body.confirm)
    return Resolved.model_validate(alert)


@bp.route("/alerts/<uuid:alert_id>/close", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def close(alert_id: AlertId, body: Closing) -> CopyStatus:
    """Close an alert your school received, on your side, with a note.

    The sender's and other schools' status is unchanged."""
    keys = unlocked(auth.school_keys())
    return CopyStatus.model_validate(closing.close(db(), auth.actor(), keys, alert_id, body.note))


@bp.route("/alerts/<uuid:alert_id>/reopen", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def reopen(alert_id: AlertId, body: Empty) -> CopyStatus:
    """Reopen an alert your school closed (or, as its sender, resolved)."""
    return CopyStatus.model_validate(closing.reopen(db(), auth.actor(), alert_id))


@bp.route("/alerts/<uuid:alert_id>/withdraw", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE)
def withdraw(alert_id: AlertId, body: Withdrawal) -> Withdrawn:
    """Withdraw an alert your school sent, with a reason.

    Its content is crypto-shredded at every school; recipients see that the
    sender withdrew it, and the reason. Your head, a safeguarding lead or the
    member who posted it may."""
    keys = unlocked(auth.school_keys())
    return Withdrawn.model_validate(
        withdrawal.withdraw(db(), auth.actor(), keys, alert_id, body.reason)
    )


@bp.route("/alerts/<uuid:alert_id>/corrections", methods=["POST"])
@operation(Permission.READ_ALERTS, Scope.ALERTS_WRITE, idempotent=True)
def correct(alert_id: AlertId, body: Correction) -> Created[ThreadItem]:
    """Add a signed correction to an alert your school sent (shown above it)."""
    keys = unlocked(auth.school_keys())
    item = withdrawal.correct(db(), auth.actor(), keys, alert_id, body.text)
    return Created(ThreadItem.model_validate(item))


@bp.route("/alerts/<uuid:alert_id>/forward", methods=["POST"])
@operation(Permission.POST_ALERTS, Scope.ALERTS_WRITE, idempotent=True, links=ON_THE_ALERT)
def forward(alert_id: AlertId, body: Forward) -> Created[Posted]:
    """Forward as a new alert from your school (not RED or AMBER+STRICT)."""
    keys = unlocked(auth.school_keys())
    posted = forwarding.forward(db(), auth.actor(), keys, alert_id, body.school_ids, body.note)
    return Created(Posted.of(posted), url_for("api.read_alert", alert_id=posted.alert.id))


# --- subscriptions ----------------------------------------------------------------------------


@bp.route("/subscriptions", methods=["GET"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_READ)
def list_subscriptions() -> SubscriptionList:
    """Your subscriptions (and, for a head, the school's)."""
    mine = notify.subscriptions_of(db(), auth.actor())
    return SubscriptionList.model_validate({"subscriptions": [*mine.mine, *mine.school]})


@bp.route("/subscriptions", methods=["POST"])
@operation(
    Permission.MANAGE_OWN_NOTIFICATIONS,
    Scope.SUBSCRIPTIONS_WRITE,
    links=follow(
        "/subscription/id",
        "subscription_id",
        "getSubscription",
        "changeSubscription",
        "deleteSubscription",
    ),
)
def create_subscription(body: NewSubscription) -> Created[SubscriptionSaved]:
    """Create a subscription."""
    row, secret = notify.create_subscription(
        db(), auth.actor(), body.draft(), personal=body.personal, settings=settings()
    )
    location = url_for("api.get_subscription", subscription_id=row.id)
    return Created(SubscriptionSaved.of(row, secret), location)


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["GET"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_READ)
def get_subscription(subscription_id: SubscriptionId) -> Subscription:
    """One subscription."""
    return Subscription.model_validate(notify.subscription_for(db(), auth.actor(), subscription_id))


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["PATCH"])
@operation(
    Permission.MANAGE_OWN_NOTIFICATIONS,
    Scope.SUBSCRIPTIONS_WRITE,
    operation_id="changeSubscription",
)
def update_subscription(
    subscription_id: SubscriptionId, body: SubscriptionChange
) -> SubscriptionSaved:
    """Change a subscription (only the fields sent)."""
    actor = auth.actor()
    draft = body.applied_to(notify.subscription_for(db(), actor, subscription_id))
    row, secret = notify.update_subscription(db(), actor, subscription_id, draft, settings())
    return SubscriptionSaved.of(row, secret)


@bp.route("/subscriptions/<uuid:subscription_id>", methods=["DELETE"])
@operation(Permission.MANAGE_OWN_NOTIFICATIONS, Scope.SUBSCRIPTIONS_WRITE, also=(409,))
def delete_subscription(subscription_id: SubscriptionId) -> None:
    """Delete a subscription (deliveries not yet made are cancelled)."""
    notify.delete_subscription(db(), auth.actor(), subscription_id)


# --- the directory ------------------------------------------------------------------------------


@bp.route("/schools", methods=["GET"])
@operation(
    Permission.READ_ALERTS,
    Scope.DIRECTORY_READ,
    links=follow("/schools/0/id", "school_id", "getSchool"),
)
def list_schools() -> SchoolList:
    """Your cluster's schools and office, with public keys and fingerprints."""
    rows = directory.cluster_schools(db(), auth.actor())
    return SchoolList(schools=[SchoolDocument.of(s, keys) for s, keys in rows])


@bp.route("/schools/<uuid:school_id>", methods=["GET"])
@operation(Permission.READ_ALERTS, Scope.DIRECTORY_READ)
def get_school(school_id: SchoolId) -> SchoolWithHistory:
    """One school of your cluster with every generation of its keys."""
    row, current, history = directory.school_entry(db(), auth.actor(), school_id)
    return SchoolWithHistory.of(row, current, history=history)


# --- the school's members ----------------------------------------------------------------------


@bp.route("/members", methods=["GET"])
@operation(Permission.VIEW_SCHOOL, Scope.DIRECTORY_READ)
def list_members() -> MemberList:
    """Your school's members: their roles and whether they may post alerts."""
    return MemberList(members=[SchoolMember.of(m) for m in roles.members_for(db(), auth.actor())])


@bp.route("/members/<uuid:member_id>/may-post", methods=["PUT"])
@operation(Permission.MANAGE_MEMBERS, Scope.MEMBERS_WRITE)
def set_may_post(member_id: MemberId, body: MayPost) -> SchoolMember:
    """Allow a member of your school to post alerts, or stop them (heads only).

    Heads always post; a safeguarding lead posts unless a head withdrew it."""
    return SchoolMember.of(roles.set_may_post(db(), auth.actor(), member_id, body.may_post))


# --- four-eyes review ---------------------------------------------------------------------


@bp.route("/reviews", methods=["GET"])
@operation(Permission.REVIEW_ALERTS, Scope.INBOX_READ)
def review_queue() -> ReviewQueue:
    """Your school's alerts from staff waiting for review (heads and DSLs)."""
    actor = auth.actor()
    waiting = review.queue_of(db(), actor)
    titles = held_alerts.titles_of(db(), actor, auth.school_keys(), waiting)
    return ReviewQueue(
        alerts=[
            WaitingForReview(
                id=h.id, author=h.author.name, submitted_at=h.updated_at, title=titles.get(h.id, "")
            )
            for h in waiting
        ]
    )


@bp.route("/reviews/<uuid:held_id>/approve", methods=["POST"])
@operation(Permission.REVIEW_ALERTS, Scope.ALERTS_WRITE)
def approve_review(held_id: HeldId, body: Empty) -> ReviewDecision:
    """Approve an alert from staff: it is sealed to its schools and sent, as
    its author's. Nobody approves their own."""
    keys = unlocked(auth.school_keys())
    alert = review.approve(db(), auth.actor(), keys, held_id, date.today())
    return ReviewDecision(id=held_id, decision="approved", alert_id=alert.id)


@bp.route("/reviews/<uuid:held_id>/changes", methods=["POST"])
@operation(Permission.REVIEW_ALERTS, Scope.ALERTS_WRITE)
def request_review_changes(held_id: HeldId, body: ReviewNote) -> ReviewDecision:
    """Send an alert from staff back to its author, asking for changes."""
    keys = unlocked(auth.school_keys())
    review.request_changes(db(), auth.actor(), keys, held_id, body.text)
    return ReviewDecision(id=held_id, decision="changes_requested")


@bp.route("/reviews/<uuid:held_id>/reject", methods=["POST"])
@operation(Permission.REVIEW_ALERTS, Scope.ALERTS_WRITE)
def reject_review(held_id: HeldId, body: ReviewNote) -> ReviewDecision:
    """Reject an alert from staff, with a reason: it is not sent."""
    keys = unlocked(auth.school_keys())
    review.reject(db(), auth.actor(), keys, held_id, body.text)
    return ReviewDecision(id=held_id, decision="rejected")


# --- anything else under /api/v1 ----------------------------------------------------------

_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


@bp.route("/<path:rest>", methods=[*(m for m in _METHODS if m != "HEAD"), "OPTIONS", "TRACE"])
@auth.public  # it authenticates below, unless the path is a public endpoint's
@not_an_operation
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
