"""Admin pages: a list's feed sources. Editors and admins alike add, pause, resume, poll and remove them; only
an admin may let a source reach private addresses (the checkbox is not offered to editors, and refused if
posted)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field

from digest.core.regions import split_labels
from digest.services import NotFound
from digest.services.feed_polling import poll_source
from digest.services.lists import list_by_id
from digest.services.sources import (
    DEFAULT_INTERVAL,
    SourceSettings,
    add_source,
    get_source,
    list_sources,
    remove_source,
    set_paused,
)
from digest.services.validation import FieldError, Invalid
from digest.web import PageError
from digest.web.admin import MAX_ID, Admin, SignedIn, admin_page, list_choices, list_or_404, web_of
from digest.web.catalogue import sources as _words  # noqa: F401  (registers this area's words)

router = APIRouter(prefix="/admin")
SourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
ACTIONS = ("pause", "resume", "poll", "remove")


@router.get("/sources")
def sources_index(
    request: Request,
    admin: SignedIn,
    list: Annotated[str | None, Query(max_length=64)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
    polled: Annotated[str, Query(max_length=40, pattern=r"^[0-9,]*$")] = "",
):
    notice: tuple[str, dict[str, int]] | None = None
    counts = [int(n) for n in polled.split(",") if n][:4]
    if done == "poll" and len(counts) == 4:
        notice = ("src_polled", dict(zip(("new", "updated", "unchanged", "errors"), counts, strict=True)))
    elif done in {"added", *ACTIONS}:
        notice = ("src_added" if done == "added" else "src_done", {})
    return _page(request, admin, list, notice=notice)


def _page(
    request: Request,
    admin: Admin,
    slug: str | None,
    *,
    notice: tuple[str, dict[str, int]] | None = None,
    errors: Mapping[str, FieldError] | None = None,
    form: Mapping[str, str] | None = None,
):
    with web_of(request).factory.begin() as session:
        ml = list_or_404(session, slug)
        rows = [
            {
                "id": s.id,
                "url": s.url,
                "title": s.title,
                "topic": s.topic_slug or "",
                "regions": ", ".join(s.region_codes),
                "interval": s.interval_minutes,
                "paused": s.paused,
                "last": s.last_fetched_at.strftime("%Y-%m-%d %H:%M UTC") if s.last_fetched_at else None,
                "status": s.last_status,
                "error": s.last_error or "",
            }
            for s in list_sources(session, ml)
        ]
        topics = [(t.slug, t.name) for t in ml.topics]
        context = {"ml": ml.slug, "ml_name": ml.name, "lists": list_choices(session)}
    return admin_page(
        request,
        "sources.html",
        admin=admin,
        status=400 if errors else 200,
        rows=rows,
        topics=topics,
        notice=notice,
        errors=errors or {},
        form=form or {"url": "", "topic": "", "regions": "", "interval": str(DEFAULT_INTERVAL)},
        **context,
    )


class SourceForm(BaseModel):
    """The add form's fields, as posted."""

    list: str = Field("", max_length=64)
    url: str = Field("", max_length=2100)
    topic: str = Field("", max_length=100)
    regions: str = Field("", max_length=1000)
    interval: str = Field("", max_length=10)
    allow_private: str = Field("", max_length=10)
    csrf_token: str | None = None


@router.post("/sources")
def add(request: Request, admin: SignedIn, submitted: Annotated[SourceForm, Form()]):
    web = web_of(request)
    web.check_csrf(request, submitted.csrf_token, "src-add")
    form = submitted.model_dump(include={"url", "topic", "regions", "interval"})
    form["url"] = form["url"][:2000]
    interval = submitted.interval.strip()
    minutes = int(interval) if interval.isdigit() else -1
    labels = tuple(split_labels(submitted.regions))
    wanted = SourceSettings(submitted.url, submitted.topic or None, labels, minutes, bool(submitted.allow_private))
    slug = submitted.list or None
    try:
        if wanted.allow_private and not admin.is_admin:
            raise Invalid({"allow_private": FieldError("sources_err_private")})
        with web.factory.begin() as session:
            ml = list_or_404(session, slug)
            add_source(session, ml, wanted, web.regions, now=web.settings.clock.now())
    except Invalid as exc:
        return _page(request, admin, slug, errors=exc.errors, form=form)
    return RedirectResponse(f"/admin/sources?list={ml.slug}&done=added", status_code=303)


@router.post("/sources/{source_id}/{action}")
def act(
    request: Request,
    admin: SignedIn,
    source_id: SourceId,
    action: Annotated[str, Path(pattern="^(pause|resume|poll|remove)$")],
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"src-{action}-{source_id}")
    try:
        with web.factory.begin() as session:
            slug = list_by_id(session, get_source(session, source_id).list_id).slug
            if action in {"pause", "resume"}:
                set_paused(session, source_id, action == "pause", now=web.settings.clock.now())
            elif action == "remove":
                remove_source(session, source_id)
    except NotFound:
        raise PageError(404, "not_found") from None
    query = f"list={slug}&done={action}"
    if action == "poll":
        report = poll_source(web.runtime, source_id)
        query += f"&polled={report.new},{report.updated},{report.unchanged},{len(report.errors)}"
    return RedirectResponse(f"/admin/sources?{query}", status_code=303)
