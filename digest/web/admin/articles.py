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

router = APIRouter(prefix="/admin")


PAGE_SIZE = 25
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]
EDIT_FIELDS = ("title", "body", "source", "url", "published", "regions", "topic")


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
def articles(
    request: Request,
    admin: SignedIn,
    list: Annotated[str, Query(max_length=64)] = "",
    week: Annotated[str, Query(max_length=20)] = "",
    topic: Annotated[str, Query(max_length=100)] = "",
    region: Annotated[str, Query(max_length=100)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    hidden: Annotated[str, Query(pattern="^(|visible|hidden)$")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    web = web_of(request)
    errors: dict[str, FieldError] = {}
    with web.factory.begin() as session:
        ml = list_or_404(session, list)
        week_day = None
        if week.strip():
            try:
                week_day = date.fromisoformat(week.strip())
            except ValueError:
                errors["week"] = FieldError("art_err_bad_date", {"value": week.strip()})
        try:
            query = article_query(
                ml,
                web.regions,
                week=week_day,
                topic=topic,
                region=region,
                text=q,
                hidden={"visible": False, "hidden": True}.get(hidden),
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
            "filters": {"list": ml.slug, "week": week, "topic": topic, "region": region, "q": q, "hidden": hidden},
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
    file: Annotated[UploadFile | None, File()] = None,
    fmt: Annotated[str, Form(max_length=20)] = "auto",
    published: Annotated[str, Form(max_length=20)] = "",
    list: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, "art-upload")
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
        ml = list_or_404(session, list)
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
    # One article can carry several errors (each unknown label, then "not stored"): count articles.
    rejected = len({(p.source, p.line) for p in report.problems if p.severity == "error"}) if report else 0
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
def save(
    request: Request,
    admin: SignedIn,
    article_id: ArticleId,
    title: Annotated[str, Form(max_length=2000)] = "",
    body: Annotated[str, Form(max_length=400_000)] = "",
    source: Annotated[str, Form(max_length=2000)] = "",
    url: Annotated[str, Form(max_length=4000)] = "",
    published: Annotated[str, Form(max_length=40)] = "",
    regions: Annotated[str, Form(max_length=1000)] = "",
    topic: Annotated[str, Form(max_length=100)] = "",
    action: Annotated[str, Form(max_length=20)] = "save",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = web_of(request)
    web.check_csrf(request, csrf_token, f"art-edit-{article_id}")
    form = {
        "title": title,
        "body": body,
        "source": source,
        "url": url,
        "published": published,
        "regions": regions,
        "topic": topic,
    }
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
