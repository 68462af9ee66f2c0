"""Admin pages: subscribers. Find and filter them, edit one, import and export CSV, keep the suppression list.

Admins only. An edit is one form and one transaction: one bad field re-shows the
form with what was typed and saves nothing. Imports keep every good row and
report each bad one with its line; the export is defused for spreadsheets.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from digest.adapters.storage import models
from digest.core.regions import split_labels
from digest.core.schedule import zone
from digest.core.statuses import SubscriptionStatus
from digest.services import NotFound
from digest.services.lists import list_by_id
from digest.services.paging import Cursor
from digest.services.subscriber_editing import (
    COUNT_CAP,
    SearchResult,
    edit_subscription,
    get_subscription,
    search_subscriptions,
    subscriber_query,
)
from digest.services.subscriber_export import stream_subscriptions
from digest.services.subscriber_import_jobs import import_state, queue_import, start_import
from digest.services.subscribers import export_rows, write_csv
from digest.services.suppressions import suppressed_emails
from digest.services.validation import FieldError, Invalid
from digest.web import TIME_ZONES, PageError
from digest.web.admin import (
    MAX_ID,
    MAX_UPLOAD,
    AdminOnly,
    Pager,
    admin_page,
    list_choices,
    list_or_404,
    read_upload,
    web_of,
)
from digest.web.admin.subscriber_history import FIRST_PAGE, SubscriberView, history_context
from digest.web.catalogue import subscribers as _words  # noqa: F401  (registers this area's words)
from digest.web.guard import StorableText
from digest.web.i18n import LANGUAGES

router = APIRouter(prefix="/admin")


PAGE_SIZE = 50
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]
ListSlug = Annotated[str, Query(alias="list", max_length=64)]


def _row(web, ml, sub: models.Subscription, topic_names: dict, suppressed: set[str]) -> dict:
    person = sub.subscriber
    return {
        "id": person.id,
        "email": person.email,
        "name": person.name,
        "status": sub.status,
        "regions": [web.regions.display(c) for c in sub.region_codes or () if c in web.regions],
        "topics": [topic_names.get(s, s) for s in sub.topic_slugs or ()],
        "created": sub.created_at.astimezone(zone(ml.time_zone)).strftime("%Y-%m-%d"),
        "suppressed": person.email in suppressed,
    }


@dataclass
class Filters:
    """The list page's search, shared by the page and its CSV export."""

    list_slug: ListSlug = ""
    q: Annotated[str, Query(max_length=200)] = ""
    region: Annotated[str, Query(max_length=100)] = ""
    topic: Annotated[str, Query(max_length=100)] = ""
    status: Annotated[str, Query(max_length=20)] = ""


def _find(web, session, ml, f: Filters, pager: Pager):
    query = subscriber_query(ml, web.regions, text=f.q, region=f.region, topic=f.topic, status=f.status)
    offset = (pager.page - 1) * PAGE_SIZE
    found = search_subscriptions(
        session, ml, web.regions, query, limit=PAGE_SIZE, offset=offset, after=pager.after, before=pager.before
    )
    return query, found


def figure(n: int) -> str:
    """A count as the page shows it: past COUNT_CAP it was not counted to the end."""
    return f"{COUNT_CAP:,}+" if n > COUNT_CAP else f"{n:,}"


@router.get("/subscribers")
def subscribers(
    request: Request,
    admin: AdminOnly,
    filters: Annotated[Filters, Depends()],
    pager: Annotated[Pager, Depends()],
):
    web = web_of(request)
    errors: dict[str, FieldError] = {}
    rows, found, warnings = [], SearchResult([], 0), ()
    with web.factory.begin() as session:
        ml = list_or_404(session, filters.list_slug)
        try:
            query, found = _find(web, session, ml, filters, pager)
        except Invalid as exc:
            errors = exc.errors
        else:
            names = {t.slug: t.name for t in ml.topics}
            blocked = suppressed_emails(session, [s.subscriber.email for s in found.rows])
            rows = [_row(web, ml, s, names, blocked) for s in found.rows]
            warnings = query.warnings
        shown = {
            "list": ml.slug,
            "q": filters.q,
            "region": filters.region,
            "topic": filters.topic,
            "status": filters.status,
        }
        context = {
            "ml_name": ml.name,
            "lists": list_choices(session),
            "topics": [(t.slug, t.name) for t in ml.topics],
            "filters": shown,
            "rows": rows,
            "total": figure(found.total),
            "counts": {s: figure(n) for s, n in found.counts.items()},
            "any_count": figure(sum(found.counts.values())),
            "warnings": warnings,
            "statuses": tuple(SubscriptionStatus),
            "errors": errors,
            "page": pager.page,
            "pages": None if found.capped else max(1, -(-found.total // PAGE_SIZE)),
            "next_after": found.next_after,
            "prev_before": found.prev_before,
            "query": urlencode(shown),
            "status_query": urlencode({k: v for k, v in shown.items() if k != "status"}),
        }
    return admin_page(request, "subscribers.html", admin=admin, status=400 if errors else 200, **context)


@router.get("/subscribers/export.csv")
def export(
    request: Request,
    admin: AdminOnly,
    filters: Annotated[Filters, Depends()],
) -> StreamingResponse:
    web = web_of(request)
    with web.factory.begin() as session:
        ml = list_or_404(session, filters.list_slug)
        try:
            query = subscriber_query(
                ml, web.regions, text=filters.q, region=filters.region, topic=filters.topic, status=filters.status
            )
        except Invalid:
            raise PageError(400, "bad_request") from None
        slug, list_id = re.sub(r"[^A-Za-z0-9_-]", "_", ml.slug), ml.id
        today = web.settings.clock.today(zone(ml.time_zone))
    name = f"subscribers-{slug}-{today.isoformat()}.csv"
    return StreamingResponse(
        _csv_lines(web, list_id, query),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _csv_lines(web, list_id: int, query) -> Iterator[str]:
    """The export as it is read: the first bytes leave at once, and memory holds a chunk, not the list."""
    yield "\ufeff"  # the byte-order mark lets spreadsheets read the Chinese as UTF-8; the importer skips it
    with web.factory.begin() as session:
        ml = list_by_id(session, list_id)
        out = io.StringIO()
        for row in export_rows(stream_subscriptions(session, ml, web.regions, query), web.regions, ml):
            write_csv([row], out)
            if out.tell() > 64_000:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()


def _import_page(request, admin, session, ml, *, status=200, **context):
    context = {"errors": {}, "job": None, "file_name": "", "confirmed": True} | context
    return admin_page(
        request,
        "subscribers_import.html",
        admin=admin,
        status=status,
        ml_slug=ml.slug,
        ml_name=ml.name,
        lists=list_choices(session),
        **context,
    )


@router.get("/subscribers/import")
def import_form(request: Request, admin: AdminOnly, list_slug: ListSlug = ""):
    with web_of(request).factory.begin() as session:
        return _import_page(request, admin, session, list_or_404(session, list_slug))


@router.post("/subscribers/import")
def import_csv(
    request: Request,
    admin: AdminOnly,
    file: Annotated[UploadFile | None, File()] = None,
    list: Annotated[StorableText, Form(max_length=64)] = "",
    confirmed: Annotated[StorableText, Form(max_length=5)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "subs-import")
    errors: dict[str, FieldError] = {}
    name, data = read_upload(file)
    text = ""
    if not name:
        errors["file"] = FieldError("subs_err_file_required")
    elif len(data) > MAX_UPLOAD:
        errors["file"] = FieldError("subs_err_too_big", {"max": MAX_UPLOAD // (1024 * 1024)})
    elif b"\x00" in data:
        # A NUL marks a spreadsheet or an image, and PostgreSQL cannot store one in text.
        errors["file"] = FieldError("subs_err_binary", {"byte": data.index(b"\x00") + 1})
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors["file"] = FieldError("subs_err_not_utf8", {"byte": exc.start + 1})
    with web.factory.begin() as session:
        ml = list_or_404(session, list)
        if errors:
            return _import_page(request, admin, session, ml, status=400, errors=errors, confirmed=confirmed == "1")
        default = SubscriptionStatus.CONFIRMED if confirmed == "1" else SubscriptionStatus.PENDING
        import_id = queue_import(session, ml, started_by=admin.email, file_name=name, text=text, default_status=default)
    start_import(web.runtime, import_id)  # once the upload is committed, for a worker to find it
    lang = request.query_params.get("lang")
    return RedirectResponse(
        f"/admin/subscribers/imports/{import_id}" + (f"?{urlencode({'lang': lang})}" if lang else ""), 303
    )


@router.get("/subscribers/imports/{import_id}")
def import_progress(request: Request, admin: AdminOnly, import_id: Annotated[int, Path(ge=1, le=MAX_ID)]):
    """How far an import is, refreshing itself until it is done; then its report, with the form for the next."""
    with web_of(request).factory.begin() as session:
        try:
            job = import_state(session, import_id)
        except NotFound:
            raise PageError(404, "not_found") from None
        ml = list_or_404(session, job.list_slug)
        return _import_page(request, admin, session, ml, job=job, file_name=job.file_name)


def _current(web, sub: models.Subscription) -> dict:
    person = sub.subscriber
    return {
        "name": person.name,
        "status": sub.status,
        "time_zone": person.time_zone,
        "locale": person.locale,
        "regions": ", ".join(web.regions.display(c) for c in sub.region_codes or () if c in web.regions),
        "topics": list(sub.topic_slugs or ()),
    }


@dataclass(frozen=True)
class EditShown:
    """What the edit page shows beside the stored subscriber: the form's values and how the last save went."""

    form: dict
    errors: Mapping[str, FieldError] = field(default_factory=dict)
    warnings: Sequence[str] = ()
    notice: str | None = None
    history: Cursor = FIRST_PAGE


class SubscriberForm(BaseModel):
    """The edit form's fields as typed; `list` names the list the subscription is on."""

    list_slug: str = Field("", max_length=64, alias="list")
    name: str = Field("", max_length=1000)
    status: str = Field("", max_length=20)
    regions: str = Field("", max_length=2000)
    topic: list[str] = Field([], max_length=100)
    time_zone: str = Field("", max_length=64)
    locale: str = Field("", max_length=16)
    csrf_token: str | None = None


def _edit_page(request, admin, session, sub: models.Subscription, shown: EditShown):
    """The edit page of `sub`; refused fields in `shown` make it a 400."""
    web = web_of(request)
    ml = sub.list
    person = sub.subscriber
    names = {t.slug: t.name for t in ml.topics}
    return admin_page(
        request,
        "subscribers_edit.html",
        admin=admin,
        status=400 if shown.errors else 200,
        ml_slug=ml.slug,
        ml_name=ml.name,
        person=_row(web, ml, sub, names, suppressed_emails(session, [person.email])),
        form=shown.form,
        topics=[(t.slug, t.name) for t in ml.topics],
        statuses=tuple(SubscriptionStatus),
        time_zones=TIME_ZONES,
        locales=LANGUAGES,
        region_names=[web.regions.full_name(c) for c in sub.region_codes or () if c in web.regions],
        errors=shown.errors,
        warnings=shown.warnings,
        notice=shown.notice,
        **history_context(session, ml, sub, shown.history),
    )


def _subscription(session, ml, subscriber_id: int) -> models.Subscription:
    try:
        return get_subscription(session, ml, subscriber_id)
    except NotFound:
        raise PageError(404, "not_found") from None


@router.get("/subscribers/{subscriber_id}")
def edit_form(
    request: Request,
    admin: AdminOnly,
    subscriber_id: SubscriberId,
    view: Annotated[SubscriberView, Depends()],
    list_slug: ListSlug = "",
):
    with web_of(request).factory.begin() as session:
        ml = list_or_404(session, list_slug)
        sub = _subscription(session, ml, subscriber_id)
        shown = EditShown(_current(web_of(request), sub), notice=view.notice, history=view.cursor)
        return _edit_page(request, admin, session, sub, shown)


@router.post("/subscribers/{subscriber_id}")
def save(request: Request, admin: AdminOnly, subscriber_id: SubscriberId, submitted: Annotated[SubscriberForm, Form()]):
    web = web_of(request)
    web.check_csrf(request, submitted.csrf_token, f"subs-edit-{subscriber_id}")
    regions = submitted.regions
    form = {
        "name": submitted.name,
        "status": submitted.status,
        "regions": regions,
        "topics": submitted.topic,
        "time_zone": submitted.time_zone,
        "locale": submitted.locale,
    }
    with web.factory.begin() as session:
        ml = list_or_404(session, submitted.list_slug)
        sub = _subscription(session, ml, subscriber_id)
        changes = {k: v for k, v in form.items() if k != "regions"}
        # Only a changed regions text is read again: re-reading an untouched label could move its codes.
        if regions.strip() != _current(web, sub)["regions"]:
            changes["regions"] = split_labels(regions)
        try:
            warnings = edit_subscription(session, ml, web.regions, sub, changes)
        except Invalid as exc:
            return _edit_page(request, admin, session, sub, EditShown(form, errors=exc.errors))
        if warnings:
            shown = EditShown(_current(web, sub), warnings=warnings, notice="subs_saved")
            return _edit_page(request, admin, session, sub, shown)
    target = f"/admin/subscribers/{subscriber_id}?" + urlencode({"list": ml.slug, "saved": 1})
    return RedirectResponse(target, status_code=303)
