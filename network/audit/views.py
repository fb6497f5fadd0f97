"""The audit log's pages: the log with filters, one object's access history,
exports, and the log's public key.

Coordinators see their cluster's entries, heads their school's, the hub admin
everything (schools.policy.audit_scope). Every page carries the integrity
banner: the cheap checks of this view plus the last full ``alertnet audit verify``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request, stream_with_context

from network import auth, bounds
from network.alerts.deadlines import local_zone
from network.audit import export, search, wording
from network.audit.forms import AuditFilterForm
from network.audit.search import EntryFilter, Page
from network.audit.signer import integrity, signer
from network.db import db, own_transaction
from network.settings import current as settings
from schools import audit, policy
from schools.audit import queue as audit_queue
from schools.audit.leaf import timestamp
from schools.audit.tree import tree_size
from schools.db import utcnow
from schools.errors import InvalidInput
from schools.policy import AuditScope, Permission

bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50


def _cursor(name: str) -> int | None:
    try:
        return bounds.whole_number(request.args.get(name), name)
    except InvalidInput:
        abort(400, f"The page link is not valid ('{name}' must be a whole number).")


def _page(scope: AuditScope, filters: EntryFilter) -> Page:
    before, after = _cursor("before"), _cursor("after")
    if before is not None and after is not None:
        abort(400, "The page link is not valid (it asks for both older and newer entries).")
    return search.entries_page(db(), scope, filters, before=before, after=after, limit=PAGE_SIZE)


# Beyond this many people (the hub admin's whole hub), the filter asks for an
# email address instead of offering a list.
MAX_PEOPLE_LISTED = 1000


def _form(scope: AuditScope) -> AuditFilterForm:
    form = AuditFilterForm(formdata=request.args)
    people = search.members_in_scope(db(), scope, MAX_PEOPLE_LISTED + 1)
    form.offer(
        [(s.id, s.name + (" (coordinators)" if s.is_office else "")) for s in _schools(scope)],
        people if len(people) <= MAX_PEOPLE_LISTED else None,
        settings().timezone,
    )
    return form


def _technical() -> bool:
    """The technical view: codes, ids and details, for those who need them."""
    return request.args.get("view") == "technical"


def _schools(scope: AuditScope) -> list[Any]:
    return search.schools_in_scope(db(), scope)


@bp.route("", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_LOG)
def log() -> Any:
    scope = policy.audit_scope(auth.actor())
    form = _form(scope)
    filters = form.to_filter(db(), scope, local_zone(settings()))
    page = _page(scope, filters) if filters is not None else Page([], None, None)
    technical = _technical()
    view = {"view": "technical"} if technical else {}
    return render_template(
        "audit/log.html",
        form=form,
        page=page,
        names=search.names_for(db(), page.entries),
        integrity=integrity(db(), page.entries),
        link_args=form.active(),
        nav_args={**form.active(), **view},
        scope=scope,
        object_view=None,
        technical=technical,
        wording=wording,
        queued=audit_queue.queued_count(db(), scope.cluster_id, scope.school_id),
    ), (200 if filters is not None else 400)


@bp.route("/objects/<object_type>/<path:object_id>", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_LOG)
def object_history(object_type: str, object_id: str) -> Any:
    """Who opened or changed this object, and when: linkable from its own page."""
    if not search.valid_object_type(object_type) or not 0 < len(object_id) <= 64:
        abort(404)
    scope = policy.audit_scope(auth.actor())
    filters = EntryFilter(object_type=object_type, object_id=object_id)
    page = _page(scope, filters)
    technical = _technical()
    names = search.names_for(db(), page.entries)
    return render_template(
        "audit/log.html",
        form=None,
        page=page,
        names=names,
        integrity=integrity(db(), page.entries),
        link_args={},
        nav_args={
            "object_type": object_type,
            "object_id": object_id,
            **({"view": "technical"} if technical else {}),
        },
        scope=scope,
        object_view=(object_type, object_id),
        object_name=wording.object_name(object_type, object_id, names),
        technical=technical,
        wording=wording,
    )


@bp.route("/export.<fmt>", methods=["GET"])
@auth.requires(Permission.VIEW_AUDIT_LOG)
def export_view(fmt: str) -> Any:
    """The filtered view as CSV or JSON, streamed. An export is a download, so it
    is itself an audit entry."""
    if fmt not in ("csv", "json"):
        abort(404)
    actor = auth.actor()
    scope = policy.audit_scope(actor)
    form = _form(scope)
    filters = form.to_filter(db(), scope, local_zone(settings()))
    if filters is None:
        abort(400, "The filters are not valid; correct them on the audit log page.")
    upto = tree_size(db())
    described = _describe(filters)
    audit.record(
        db(), "audit.exported", actor=actor, object_type="audit_log", format=fmt, **described
    )
    # Each batch is read in its own short transaction while the body streams.
    transaction = own_transaction
    if fmt == "csv":
        body = export.csv_lines(transaction, scope, filters, upto)
        mimetype = "text/csv"
    else:
        header = {"exported_at": timestamp(utcnow()), "tree_size": upto}
        body = export.json_chunks(transaction, scope, filters, upto, {**header, **described})
        mimetype = "application/json"
    return Response(
        stream_with_context(body),
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="audit-log.{fmt}"'},
    )


def _describe(filters: EntryFilter) -> dict[str, Any]:
    """The filters of an export, for its audit entry and its header: ids, never emails."""
    return {
        "filter_" + name: str(value) for name, value in vars(filters).items() if value is not None
    }


@bp.route("/key", methods=["GET"])
@auth.public
def key() -> Any:
    """The log's public key, published for anyone to pin (it is public by nature)."""
    return render_template(
        "audit/key.html", origin=settings().log_origin, vkey=signer().verifier_key()
    )
