"""Admin pages: articles. Find them by week, topic, region or text; upload a file; correct, re-tag, hide.

Editors and admins alike. Bodies are stored sanitised and shown through the same
sanitiser again, so the preview is exactly what the digest will carry.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse
from markupsafe import Markup
from pydantic import BaseModel, Field

from digest.adapters.storage import models
from digest.core.ingest import EXTENSIONS, FORMATS, IngestFormatError, decode, parse_text
from digest.core.ingest.jsonl import body_to_html
from digest.core.sanitize import sanitize_html
from digest.core.schedule import zone
from digest.services import NotFound
from digest.services.article_editing import (
    article_query,
    edit_article,
    get_article,
    search_articles,
)
from digest.services.articles import store_articles
from digest.services.lists import list_by_id
from digest.services.validation import FieldError, Invalid
from digest.web import PageError
from digest.web.admin import (
    MAX_ID,
    MAX_UPLOAD,
    SignedIn,
    admin_page,
    list_choices,
    list_or_404,
    read_upload,
    web_of,
)
from digest.web.catalogue import articles as _words  # noqa: F401  (registers this area's words)
from digest.web.guard import StorableText

router = APIRouter(prefix="/admin")


PAGE_SIZE = 25
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]
EDIT_FIELDS = ("title", "body", "source", "url", "published", "regions", "topic")


class ArticleFilters(BaseModel):
    """The article list's query string, as the filter form sends it."""

    slug: str = Field("", max_length=64, alias="list")
    week: str = Field("", max_length=20)
    topic: str = Field("", max_length=100)
    region: str = Field("", max_length=100)
    q: str = Field("", max_length=200)
    hidden: str = Field("", pattern="^(|visible|hidden)$")
    page: int = Field(1, ge=1, le=100_000)


class UploadForm(BaseModel):
    """The upload form's fields beside the file itself."""

    fmt: StorableText = Field("auto", max_length=20)
    published: StorableText = Field("", max_length=20)
    slug: StorableText = Field("", max_length=64, alias="list")
    csrf_token: str | None = None


class ArticleForm(BaseModel):
    """The edit form: every editable field as typed, and which button was pressed."""

    title: str = Field("", max_length=2000)
    body: str = Field("", max_length=400_000)
    source: str = Field("", max_length=2000)
    url: str = Field("", max_length=4000)
    published: str = Field("", max_length=40)
    regions: str = Field("", max_length=1000)
    topic: str = Field("", max_length=100)
    action: str = Field("save", max_length=20)
    csrf_token: str | None = None


def _local(moment: datetime, ml: models.MailingList) -> datetime:
    return moment.astimezone(zone(ml.time_zone))


def _row(web, ml, article: models.Article) -> dict:
    return {
        "id": article.id,
        "title": article.title,
        "region_label": article.region_label,
        "region_names": [web.regions.full_name(r.region_code) for r in article.regions if r.region_code in web.regions],
        "topic": article.topic.name,
        "published": _local(article.published_at, ml).strftime("%Y-%m-%d %H:%M"),
        "hidden": article.hidden,
    }


@router.get("/articles")
def articles(request: Request, admin: SignedIn, filters: Annotated[ArticleFilters, Query()]):
    web = web_of(request)
    week, page = filters.week.strip(), filters.page
    errors: dict[str, FieldError] = {}
    with web.factory.begin() as session:
        ml = list_or_404(session, filters.slug)
        week_day = None
        if week:
            try:
                week_day = date.fromisoformat(week)
            except ValueError:
                errors["week"] = FieldError("art_err_bad_date", {"value": week})
        try:
            query = article_query(
                ml,
                web.regions,
                week=week_day,
                topic=filters.topic,
                region=filters.region,
                text=filters.q,
                hidden={"visible": False, "hidden": True}.get(filters.hidden),
            )
        except Invalid as exc:
            errors.update(exc.errors)
        rows, total = [], 0
        if not errors:
            found, total = search_articles(
                session, ml, web.regions, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE
            )
            rows = [_row(web, ml, a) for a in found]
        context = {
            "ml": ml,
            "lists": list_choices(session),
            "topics": [(t.slug, t.name) for t in ml.topics],
            # As typed (the week too), so the form shows what was asked.
            "filters": {"list": ml.slug} | filters.model_dump(include={"week", "topic", "region", "q", "hidden"}),
            "rows": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)),
            "errors": errors,
        }
    return admin_page(request, "articles.html", admin=admin, status=400 if errors else 200, **context)


@router.get("/articles/upload")
def upload_form(request: Request, admin: SignedIn, list: Annotated[str, Query(max_length=64)] = ""):
    with web_of(request).factory.begin() as session:
        ml = list_or_404(session, list)
        lists = list_choices(session)
    return admin_page(
        request,
        "articles_upload.html",
        admin=admin,
        ml_slug=ml.slug,
        lists=lists,
        formats=FORMATS,
        form={"fmt": "auto", "published": ""},
        errors={},
        report=None,
        fatal=None,
    )


@router.post("/articles/upload")
def upload(
    request: Request,
    admin: SignedIn,
    submitted: Annotated[UploadForm, Form()],
    file: Annotated[UploadFile | None, File()] = None,
):
    web = web_of(request)
    web.check_csrf(request, submitted.csrf_token, "art-upload")
    fmt, published = submitted.fmt, submitted.published
    errors: dict[str, FieldError] = {}
    report = fatal = None
    name, data = read_upload(file)
    if not name:
        errors["file"] = FieldError("art_err_required", {"field": "file"})
    elif len(data) > MAX_UPLOAD:
        errors["file"] = FieldError("art_err_too_big", {"max": MAX_UPLOAD // (1024 * 1024)})
    if fmt != "auto" and fmt not in FORMATS:
        errors["fmt"] = FieldError("art_err_type", {"field": "fmt"})
    with web.factory.begin() as session:
        ml = list_or_404(session, submitted.slug)
        lists = list_choices(session)
        when = web.settings.clock.local(zone(ml.time_zone))
        if published.strip():
            try:
                when = datetime.combine(date.fromisoformat(published.strip()), time(8), zone(ml.time_zone))
            except ValueError:
                errors["published"] = FieldError("art_err_bad_date", {"value": published.strip()})
        if not errors:
            chosen = EXTENSIONS.get(os.path.splitext(name)[1].lower()) if fmt == "auto" else fmt
            try:
                parsed = parse_text(decode(data, name), name, chosen, when)
            except IngestFormatError as exc:
                fatal = exc.problem
            else:
                report = store_articles(session, ml, parsed, web.regions, source=name, published=when)
    status = 400 if errors or fatal else 200
    form = {"fmt": fmt, "published": published}
    rejected = report.rejected if report else 0
    return admin_page(
        request,
        "articles_upload.html",
        admin=admin,
        status=status,
        ml_slug=ml.slug,
        lists=lists,
        formats=FORMATS,
        form=form,
        errors=errors,
        report=report,
        rejected=rejected,
        fatal=fatal,
        file_name=name,
    )


def _edit_context(web, session, article: models.Article, form: dict | None = None) -> dict:
    ml = list_by_id(session, article.list_id)
    current = {
        "title": article.title,
        "body": article.body_html,
        "source": article.source or "",
        "url": article.url or "",
        "published": _local(article.published_at, ml).strftime("%Y-%m-%dT%H:%M"),
        "regions": article.region_label,
        "topic": article.topic.slug,
    }
    form = form or current
    preview = form["body"] if form is current else body_to_html(form["body"] or "")
    return {
        "article": _row(web, ml, article),
        "ml_slug": ml.slug,
        "topics": [(t.slug, t.name) for t in ml.topics],
        "form": form,
        "current": current,
        # The stored body went through nh3 already; once more costs little and guards old rows.
        "preview": Markup(sanitize_html(preview)),
    }


@router.get("/articles/{article_id}")
def edit_form(
    request: Request, admin: SignedIn, article_id: ArticleId, done: Annotated[str, Query(max_length=20)] = ""
):
    web = web_of(request)
    with web.factory.begin() as session:
        article = _article(session, article_id)
        context = _edit_context(web, session, article)
    notice = {"hidden": "art_notice_hidden", "shown": "art_notice_shown"}.get(done)
    return admin_page(request, "articles_edit.html", admin=admin, errors={}, warnings=[], notice=notice, **context)


def _article(session, article_id: int) -> models.Article:
    try:
        return get_article(session, article_id)
    except NotFound:
        raise PageError(404, "not_found") from None


@router.post("/articles/{article_id}")
def save(request: Request, admin: SignedIn, article_id: ArticleId, submitted: Annotated[ArticleForm, Form()]):
    web = web_of(request)
    web.check_csrf(request, submitted.csrf_token, f"art-edit-{article_id}")
    action = submitted.action
    form = {name: getattr(submitted, name) for name in EDIT_FIELDS}
    errors: dict[str, FieldError] = {}
    warnings: list[str] = []
    notice = None
    with web.factory.begin() as session:
        article = _article(session, article_id)
        current = _edit_context(web, session, article)["current"]
        if action == "save":
            # Only what the editor changed: re-reading an untouched label could move its codes.
            changes = {k: v for k, v in form.items() if v != current[k]}
            try:
                warnings = edit_article(session, article, changes, web.regions)
            except Invalid as exc:
                errors = exc.errors
            else:
                notice = "art_notice_saved"
        context = _edit_context(web, session, article, None if notice else form)
    status = 400 if errors else 200
    return admin_page(
        request,
        "articles_edit.html",
        admin=admin,
        status=status,
        errors=errors,
        warnings=warnings,
        notice=notice,
        **context,
    )


@router.post("/articles/{article_id}/visibility")
def visibility(
    request: Request,
    admin: SignedIn,
    article_id: ArticleId,
    hidden: Annotated[str, Form(pattern="^[01]$")] = "1",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"art-visibility-{article_id}")
    with web.factory.begin() as session:
        edit_article(session, _article(session, article_id), {"hidden": hidden == "1"}, web.regions)
    done = "hidden" if hidden == "1" else "shown"
    return RedirectResponse(f"/admin/articles/{article_id}?done={done}", status_code=303)
