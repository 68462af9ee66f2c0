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
from sqlalchemy import select

from digest.ingest import EXTENSIONS, FORMATS, IngestFormatError, decode, parse_text
from digest.ingest.jsonl import body_to_html
from digest.sanitize import sanitize_html
from digest.schedule import zone
from digest.services import NotFound
from digest.services.articles import store_articles
from digest.services.editorial import (
    FieldError,
    Invalid,
    article_query,
    edit_article,
    get_article,
    search_articles,
)
from digest.services.lists import get_list
from digest.storage import models
from digest.web import PageError
from digest.web.admin import SignedIn, admin_page
from digest.web.i18n import register_messages

router = APIRouter(prefix="/admin")

register_messages(
    {
        "zh-CN": {
            "art_title": "文章",
            "art_upload_title": "上传文章文件",
            "art_edit_title": "编辑文章",
            "art_list": "邮件列表",
            "art_week": "周（截止日期）",
            "art_week_help": "显示截至该日的七天内发布的文章。",
            "art_topic": "栏目",
            "art_region": "地区",
            "art_text": "标题或正文包含",
            "art_visibility": "显示状态",
            "art_any": "全部",
            "art_visible": "显示中",
            "art_hidden": "已隐藏",
            "art_filter": "筛选",
            "art_count": "共 {total} 篇",
            "art_none": "没有符合条件的文章。",
            "art_col_title": "标题",
            "art_col_region": "地区",
            "art_col_topic": "栏目",
            "art_col_published": "发布时间",
            "art_col_status": "状态",
            "art_edit": "编辑",
            "art_prev": "上一页",
            "art_next": "下一页",
            "art_page": "第 {page} / {pages} 页",
            "art_upload_link": "上传文章文件",
            "art_file": "文件",
            "art_file_help": "周报原文（.txt）、JSON Lines（.jsonl）或 CSV（.csv），UTF-8 编码，最大 5 MB。",
            "art_format": "格式",
            "art_format_auto": "按文件名判断",
            "art_format_newsletter": "周报原文",
            "art_format_jsonl": "JSON Lines",
            "art_format_csv": "CSV",
            "art_published": "发布日期（可选）",
            "art_published_help": "用于没有自带日期的文章；不填则为今天。",
            "art_upload_button": "上传并导入",
            "art_report": "导入结果：{name}",
            "art_added": "新增",
            "art_unchanged": "已存在（跳过）",
            "art_rejected": "未导入",
            "art_problems": "问题",
            "art_col_file": "文件",
            "art_col_line": "行",
            "art_col_field": "字段",
            "art_col_severity": "级别",
            "art_col_message": "说明",
            "art_severity_error": "错误（未导入）",
            "art_severity_warning": "提醒（已导入）",
            "art_fatal": "无法读取该文件，没有导入任何文章：",
            "art_back_to_list": "返回文章列表",
            "art_body": "正文（HTML）",
            "art_body_help": "保存时会清除不安全的标签和属性（脚本、事件、javascript: 链接等）。",
            "art_source": "来源（可选）",
            "art_url": "原文链接（可选）",
            "art_regions": "地区",
            "art_regions_help": "按习惯书写，多个用逗号或顿号分隔，如：湖南怀化、甘肃临泽、全国。",
            "art_regions_now": "当前解析为：",
            "art_preview": "预览",
            "art_preview_button": "预览（不保存）",
            "art_save": "保存",
            "art_hide": "隐藏此文章",
            "art_unhide": "取消隐藏",
            "art_hidden_note": "此文章已隐藏，不会出现在任何一期中。",
            "art_notice_saved": "已保存。",
            "art_notice_hidden": "文章已隐藏。",
            "art_notice_shown": "文章已恢复显示。",
            "art_form_errors": "有字段需要修改，什么都没有保存。",
            "art_region_warning": "地区提示：",
            "art_field_title": "标题",
            "art_field_file": "文件",
            "art_err_required": "此项必填。",
            "art_err_type": "此项的值类型不对。",
            "art_err_too_long": "太长了，最多 {max} 个字符。",
            "art_err_too_big": "文件太大，最大 {max} MB。",
            "art_err_body_empty": "清除不安全内容后正文为空。",
            "art_err_bad_url": "链接必须以 http:// 或 https:// 开头。",
            "art_err_bad_date": "“{value}”不是有效日期，请写成 2026-11-20 这样的格式。",
            "art_err_unknown_topic": "没有名为“{topic}”的栏目。",
            "art_err_unknown_region": "无法识别的地区：{label}。请写出省份，如“甘肃临泽”。",
            "art_err_duplicate": "第 {id} 篇文章的标题和正文与此相同，不能重复。",
        },
        "en": {
            "art_title": "Articles",
            "art_upload_title": "Upload an article file",
            "art_edit_title": "Edit article",
            "art_list": "List",
            "art_week": "Week (last day)",
            "art_week_help": "Articles published in the seven days that end on this date.",
            "art_topic": "Topic",
            "art_region": "Region",
            "art_text": "Title or text contains",
            "art_visibility": "Visibility",
            "art_any": "All",
            "art_visible": "Visible",
            "art_hidden": "Hidden",
            "art_filter": "Filter",
            "art_count": "{total} articles",
            "art_none": "No article matches.",
            "art_col_title": "Title",
            "art_col_region": "Region",
            "art_col_topic": "Topic",
            "art_col_published": "Published",
            "art_col_status": "Status",
            "art_edit": "Edit",
            "art_prev": "Previous",
            "art_next": "Next",
            "art_page": "Page {page} of {pages}",
            "art_upload_link": "Upload an article file",
            "art_file": "File",
            "art_file_help": "Newsletter text (.txt), JSON Lines (.jsonl) or CSV (.csv), UTF-8, at most 5 MB.",
            "art_format": "Format",
            "art_format_auto": "From the file name",
            "art_format_newsletter": "Newsletter text",
            "art_format_jsonl": "JSON Lines",
            "art_format_csv": "CSV",
            "art_published": "Publication date (optional)",
            "art_published_help": "For articles that carry no date; today when left empty.",
            "art_upload_button": "Upload and import",
            "art_report": "Import report: {name}",
            "art_added": "Added",
            "art_unchanged": "Already stored (skipped)",
            "art_rejected": "Not imported",
            "art_problems": "Problems",
            "art_col_file": "File",
            "art_col_line": "Line",
            "art_col_field": "Field",
            "art_col_severity": "Severity",
            "art_col_message": "Message",
            "art_severity_error": "Error (not imported)",
            "art_severity_warning": "Warning (imported)",
            "art_fatal": "The file could not be read; no article was imported:",
            "art_back_to_list": "Back to the articles",
            "art_body": "Body (HTML)",
            "art_body_help": "Unsafe tags and attributes (scripts, event handlers, javascript: links) are removed on save.",
            "art_source": "Source (optional)",
            "art_url": "Link to the original (optional)",
            "art_regions": "Regions",
            "art_regions_help": "Written the Chinese way people write them (a province, a city, province + county, a national body, or a six-digit code), separated by commas.",
            "art_regions_now": "Currently read as:",
            "art_preview": "Preview",
            "art_preview_button": "Preview (does not save)",
            "art_save": "Save",
            "art_hide": "Hide this article",
            "art_unhide": "Show this article again",
            "art_hidden_note": "This article is hidden and goes into no issue.",
            "art_notice_saved": "Saved.",
            "art_notice_hidden": "The article is hidden.",
            "art_notice_shown": "The article is visible again.",
            "art_form_errors": "Some fields need fixing; nothing was saved.",
            "art_region_warning": "Region note:",
            "art_field_title": "Title",
            "art_field_file": "File",
            "art_err_required": "This field is required.",
            "art_err_type": "This field has a value of the wrong type.",
            "art_err_too_long": "Too long: at most {max} characters.",
            "art_err_too_big": "The file is too big: at most {max} MB.",
            "art_err_body_empty": "The body is empty once unsafe content is removed.",
            "art_err_bad_url": "The link must start with http:// or https://.",
            "art_err_bad_date": "“{value}” is not a date; write it like 2026-11-20.",
            "art_err_unknown_topic": "There is no topic called “{topic}”.",
            "art_err_unknown_region": "Unknown region: {label}. Write the province before a county's name.",
            "art_err_duplicate": "Article {id} has the same title and text; it cannot be stored twice.",
        },
    }
)

PAGE_SIZE = 25
MAX_UPLOAD = 5 * 1024 * 1024
MAX_ID = 2**31 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_ID)]
EDIT_FIELDS = ("title", "body", "source", "url", "published", "regions", "topic")


def _web(request: Request):
    return request.app.state.web


def _list(session, slug: str | None) -> models.MailingList:
    try:
        return get_list(session, slug or None)
    except NotFound:
        raise PageError(404, "not_found") from None


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
    web = _web(request)
    errors: dict[str, FieldError] = {}
    with web.factory.begin() as session:
        ml = _list(session, list)
        week_day = None
        if week.strip():
            try:
                week_day = date.fromisoformat(week.strip())
            except ValueError:
                errors["week"] = FieldError("art_err_bad_date", {"value": week.strip()})
        try:
            query = article_query(
                ml, web.regions, week=week_day, topic=topic, region=region, text=q,
                hidden={"visible": False, "hidden": True}.get(hidden),
            )  # fmt: skip
        except Invalid as exc:
            errors.update(exc.errors)
        rows, total = [], 0
        if not errors:
            found, total = search_articles(session, ml, web.regions, query, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
            rows = [_row(web, ml, a) for a in found]
        context = {
            "ml": ml, "lists": _all_lists(session), "topics": [(t.slug, t.name) for t in ml.topics],
            "filters": {"list": ml.slug, "week": week, "topic": topic, "region": region, "q": q, "hidden": hidden},
            "rows": rows, "total": total, "page": page, "pages": max(1, -(-total // PAGE_SIZE)), "errors": errors,
        }  # fmt: skip
    return admin_page(request, "articles.html", admin=admin, status=400 if errors else 200, **context)


def _all_lists(session) -> list[tuple[str, str]]:
    return [(m.slug, m.name) for m in session.scalars(select(models.MailingList).order_by(models.MailingList.slug))]


@router.get("/articles/upload")
def upload_form(request: Request, admin: SignedIn, list: Annotated[str, Query(max_length=64)] = ""):
    with _web(request).factory.begin() as session:
        ml = _list(session, list)
        lists = _all_lists(session)
    return admin_page(request, "articles_upload.html", admin=admin, ml_slug=ml.slug, lists=lists, formats=FORMATS,
                      form={"fmt": "auto", "published": ""}, errors={}, report=None, fatal=None)  # fmt: skip


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
    web = _web(request)
    web.check_csrf(request, csrf_token, "art-upload")
    errors: dict[str, FieldError] = {}
    report = fatal = None
    name = os.path.basename((file.filename or "").replace("\\", "/"))[:200] if file else ""
    data = file.file.read(MAX_UPLOAD + 1) if file and name else b""
    if not name:
        errors["file"] = FieldError("art_err_required", {"field": "file"})
    elif len(data) > MAX_UPLOAD:
        errors["file"] = FieldError("art_err_too_big", {"max": MAX_UPLOAD // (1024 * 1024)})
    if fmt != "auto" and fmt not in FORMATS:
        errors["fmt"] = FieldError("art_err_type", {"field": "fmt"})
    with web.factory.begin() as session:
        ml = _list(session, list)
        lists = _all_lists(session)
        when = datetime.now(zone(ml.time_zone))
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
    return admin_page(request, "articles_upload.html", admin=admin, status=status, ml_slug=ml.slug, lists=lists,
                      formats=FORMATS, form=form, errors=errors, report=report, rejected=rejected, fatal=fatal,
                      file_name=name)  # fmt: skip


def _edit_context(web, session, article: models.Article, form: dict | None = None) -> dict:
    ml = session.get(models.MailingList, article.list_id)
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
def edit_form(request: Request, admin: SignedIn, article_id: ArticleId, done: Annotated[str, Query(max_length=20)] = ""):
    web = _web(request)
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
    web = _web(request)
    web.check_csrf(request, csrf_token, f"art-edit-{article_id}")
    form = {"title": title, "body": body, "source": source, "url": url, "published": published, "regions": regions, "topic": topic}
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
    return admin_page(request, "articles_edit.html", admin=admin, status=status, errors=errors, warnings=warnings,
                      notice=notice, **context)  # fmt: skip


@router.post("/articles/{article_id}/visibility")
def visibility(
    request: Request,
    admin: SignedIn,
    article_id: ArticleId,
    hidden: Annotated[str, Form(pattern="^[01]$")] = "1",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = _web(request)
    web.check_csrf(request, csrf_token, f"art-visibility-{article_id}")
    with web.factory.begin() as session:
        edit_article(session, _article(session, article_id), {"hidden": hidden == "1"}, web.regions)
    done = "hidden" if hidden == "1" else "shown"
    return RedirectResponse(f"/admin/articles/{article_id}?done={done}", status_code=303)
