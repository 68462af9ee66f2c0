"""Admin pages: subscribers. Find and filter them, edit one, import and export CSV, keep the suppression list.

Admins only. An edit is one form and one transaction: one bad field re-shows the
form with what was typed and saves nothing. Imports keep every good row and
report each bad one with its line; the export is defused for spreadsheets.
"""

from __future__ import annotations

import io
import os
import re
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from digest.regions import split_labels
from digest.schedule import zone
from digest.services import NotFound
from digest.services.directory import (
    add_suppression,
    edit_subscription,
    get_subscription,
    remove_suppression,
    search_subscriptions,
    search_suppressions,
    subscriber_query,
    suppressed_emails,
)
from digest.services.editorial import FieldError, Invalid
from digest.services.lists import get_list
from digest.services.subscribers import (
    STATUSES,
    export_rows,
    import_subscribers_csv,
    write_csv,
)
from digest.storage import models
from digest.web import TIME_ZONES, PageError
from digest.web.admin import AdminOnly, admin_page
from digest.web.i18n import LANGUAGES, register_messages

router = APIRouter(prefix="/admin")

register_messages(
    {
        "zh-CN": {
            "subs_title": "订阅者",
            "subs_tab_list": "订阅者列表",
            "subs_tab_import": "导入 CSV",
            "subs_tab_suppressions": "屏蔽名单",
            "subs_export_link": "导出当前结果（CSV）",
            "subs_list": "邮件列表",
            "subs_search": "邮箱或姓名包含",
            "subs_region": "地区",
            "subs_region_help": "如 湖南、怀化、全国；选了其上级或下级地区、或未选地区的订阅者都会列出。",
            "subs_topic": "栏目",
            "subs_status": "状态",
            "subs_any": "全部",
            "subs_filter": "筛选",
            "subs_filter_errors": "筛选条件需要修改。",
            "subs_region_read_as": "地区筛选按推测理解：{detail}",
            "subs_total": "共 {total} 位订阅者符合条件",
            "subs_none": "没有符合条件的订阅者。",
            "subs_status_pending": "待确认",
            "subs_status_confirmed": "已订阅",
            "subs_status_unsubscribed": "已退订",
            "subs_col_email": "邮箱",
            "subs_col_name": "姓名",
            "subs_col_status": "状态",
            "subs_col_regions": "地区",
            "subs_col_topics": "栏目",
            "subs_col_created": "加入日期",
            "subs_all_regions": "全部地区",
            "subs_all_topics": "全部栏目",
            "subs_badge_suppressed": "已屏蔽",
            "subs_edit": "编辑",
            "subs_prev": "上一页",
            "subs_next": "下一页",
            "subs_page": "第 {page} / {pages} 页",
            "subs_edit_title": "编辑订阅者",
            "subs_back": "返回订阅者列表",
            "subs_email": "邮箱",
            "subs_name": "姓名",
            "subs_regions": "关注地区",
            "subs_regions_help": "用逗号或顿号分隔，如“湖南, 临泽”；也可填写六位地区代码。留空表示全部地区。",
            "subs_regions_now": "现在保存的地区：",
            "subs_topics": "关注栏目",
            "subs_topics_help": "都不勾选表示全部栏目。",
            "subs_time_zone": "时区",
            "subs_locale": "语言",
            "subs_save": "保存",
            "subs_saved": "已保存。",
            "subs_save_errors": "有字段需要修改，什么都没有保存。",
            "subs_region_warning": "请核对地区：",
            "subs_suppressed_note": "该地址在屏蔽名单中，不会收到任何邮件。",
            "subs_import_title": "导入订阅者",
            "subs_import_help": "UTF-8 编码的 CSV 文件，第一行为表头，须有 email 列，可选 name、regions、topics、status 列；一个单元格内的多个地区或栏目用逗号分隔。最大 5 MB。",
            "subs_file": "CSV 文件",
            "subs_import_sample": "email,name,regions,topics,status\nli.lei@example.cn,李雷,\"湖南, 怀化\",产业发展,confirmed\nhan.mei@example.cn,韩梅,全国,,",
            "subs_confirm_label": "未填状态的行直接记为“已订阅”（我确认这些人已同意接收）",
            "subs_confirm_help": "不勾选则记为“待确认”，在确认之前不会收到周报。",
            "subs_import_button": "上传并导入",
            "subs_import_errors": "请先修正下面的问题，什么都没有导入。",
            "subs_report": "导入结果：{name}",
            "subs_added": "新增",
            "subs_updated": "更新",
            "subs_rejected": "未导入的行",
            "subs_problems": "逐行问题",
            "subs_col_line": "行号",
            "subs_col_field": "字段",
            "subs_col_severity": "级别",
            "subs_col_message": "说明",
            "subs_severity_error": "错误，该行未导入",
            "subs_severity_warning": "提示，已导入",
            "subs_supp_title": "屏蔽名单",
            "subs_supp_help": "名单中的地址不会收到任何列表的任何邮件，例如硬退信、投诉或管理员屏蔽的地址。",
            "subs_supp_search": "邮箱或原因包含",
            "subs_supp_search_button": "搜索",
            "subs_supp_add": "添加地址",
            "subs_supp_reason": "原因",
            "subs_supp_add_button": "加入屏蔽名单",
            "subs_supp_added": "已加入屏蔽名单。",
            "subs_supp_updated": "该地址已在屏蔽名单中，原因已更新。",
            "subs_supp_removed": "已移出屏蔽名单。",
            "subs_supp_remove": "移出",
            "subs_supp_col_created": "加入日期",
            "subs_supp_total": "共 {total} 个地址",
            "subs_supp_none": "没有符合条件的地址。",
            "subs_supp_errors": "有字段需要修改，什么都没有保存。",
            "subs_err_required": "此项必填。",
            "subs_err_too_long": "太长了，最多 {max} 个字符。",
            "subs_err_too_many": "最多 {max} 项。",
            "subs_err_email": "“{value}”不是有效的电子邮箱地址。",
            "subs_err_status": "未知状态“{value}”，只能是待确认、已订阅或已退订。",
            "subs_err_unknown_region": "无法识别地区“{label}”。",
            "subs_err_region_unclear": "地区“{label}”不明确：{detail}",
            "subs_err_unknown_topic": "没有栏目“{label}”（本列表的栏目：{known}）。",
            "subs_err_time_zone": "“{value}”不是有效的时区，请使用 Asia/Shanghai 这样的名称。",
            "subs_err_locale": "不支持的语言“{value}”，只能是 zh-CN 或 en。",
            "subs_err_unknown_field": "没有“{field}”这个字段。",
            "subs_err_file_required": "请选择一个 CSV 文件。",
            "subs_err_too_big": "文件太大，最大 {max} MB。",
            "subs_err_not_utf8": "文件不是 UTF-8 文本（第 {byte} 个字节无法读取），请另存为 UTF-8 编码的 CSV。",
        },
        "en": {
            "subs_title": "Subscribers",
            "subs_tab_list": "Subscribers",
            "subs_tab_import": "Import CSV",
            "subs_tab_suppressions": "Suppression list",
            "subs_export_link": "Export these (CSV)",
            "subs_list": "List",
            "subs_search": "Email or name contains",
            "subs_region": "Region",
            "subs_region_help": "A province, city or county, or national; those who picked a division above or inside it, or no region, are listed too.",
            "subs_topic": "Topic",
            "subs_status": "Status",
            "subs_any": "Any",
            "subs_filter": "Filter",
            "subs_filter_errors": "Some filters need fixing.",
            "subs_region_read_as": "The region filter was read with a guess: {detail}",
            "subs_total": "Matching subscribers: {total}",
            "subs_none": "No subscriber matches.",
            "subs_status_pending": "Pending",
            "subs_status_confirmed": "Confirmed",
            "subs_status_unsubscribed": "Unsubscribed",
            "subs_col_email": "Email",
            "subs_col_name": "Name",
            "subs_col_status": "Status",
            "subs_col_regions": "Regions",
            "subs_col_topics": "Topics",
            "subs_col_created": "Joined",
            "subs_all_regions": "Every region",
            "subs_all_topics": "Every topic",
            "subs_badge_suppressed": "Suppressed",
            "subs_edit": "Edit",
            "subs_prev": "Previous",
            "subs_next": "Next",
            "subs_page": "Page {page} of {pages}",
            "subs_edit_title": "Edit subscriber",
            "subs_back": "Back to the subscribers",
            "subs_email": "Email",
            "subs_name": "Name",
            "subs_regions": "Regions",
            "subs_regions_help": "Separate with commas; names as people write them, or six-digit codes. Empty means every region.",
            "subs_regions_now": "Saved regions now:",
            "subs_topics": "Topics",
            "subs_topics_help": "None ticked means every topic.",
            "subs_time_zone": "Time zone",
            "subs_locale": "Language",
            "subs_save": "Save",
            "subs_saved": "Saved.",
            "subs_save_errors": "Some fields need fixing; nothing was saved.",
            "subs_region_warning": "Please check this region:",
            "subs_suppressed_note": "This address is on the suppression list: nothing is sent to it.",
            "subs_import_title": "Import subscribers",
            "subs_import_help": "A UTF-8 CSV file whose header row has an email column and optionally name, regions, topics, status; several regions or topics in one cell are separated by commas. At most 5 MB.",
            "subs_file": "CSV file",
            "subs_import_sample": "email,name,regions,topics,status\nli.lei@example.cn,Li Lei,\"430000, 431200\",industry,confirmed\nhan.mei@example.cn,Han Mei,000000,,",
            "subs_confirm_label": "Mark rows without a status as confirmed (I attest these people agreed to receive it)",
            "subs_confirm_help": "Unticked, they are pending and get no issue until they confirm.",
            "subs_import_button": "Upload and import",
            "subs_import_errors": "Fix the problem below first; nothing was imported.",
            "subs_report": "Import report: {name}",
            "subs_added": "Added",
            "subs_updated": "Updated",
            "subs_rejected": "Rows not imported",
            "subs_problems": "Problems by line",
            "subs_col_line": "Line",
            "subs_col_field": "Field",
            "subs_col_severity": "Severity",
            "subs_col_message": "Message",
            "subs_severity_error": "Error, row not imported",
            "subs_severity_warning": "Warning, imported",
            "subs_supp_title": "Suppression list",
            "subs_supp_help": "Addresses here get no mail from any list: hard bounces, complaints, addresses an admin blocked.",
            "subs_supp_search": "Email or reason contains",
            "subs_supp_search_button": "Search",
            "subs_supp_add": "Add an address",
            "subs_supp_reason": "Reason",
            "subs_supp_add_button": "Suppress",
            "subs_supp_added": "Added to the suppression list.",
            "subs_supp_updated": "That address was suppressed already; its reason was updated.",
            "subs_supp_removed": "Removed from the suppression list.",
            "subs_supp_remove": "Remove",
            "subs_supp_col_created": "Added",
            "subs_supp_total": "Addresses: {total}",
            "subs_supp_none": "No address matches.",
            "subs_supp_errors": "Some fields need fixing; nothing was saved.",
            "subs_err_required": "This field is required.",
            "subs_err_too_long": "Too long: at most {max} characters.",
            "subs_err_too_many": "At most {max} entries.",
            "subs_err_email": "'{value}' is not a valid email address.",
            "subs_err_status": "unknown status '{value}' (pending, confirmed or unsubscribed)",
            "subs_err_unknown_region": "unknown region '{label}'",
            "subs_err_region_unclear": "region '{label}' is unclear: {detail}",
            "subs_err_unknown_topic": "unknown topic '{label}' (this list has: {known})",
            "subs_err_time_zone": "'{value}' is not a time zone; use an IANA name such as Asia/Shanghai.",
            "subs_err_locale": "unsupported language '{value}' (zh-CN or en)",
            "subs_err_unknown_field": "there is no field '{field}'",
            "subs_err_file_required": "Choose a CSV file.",
            "subs_err_too_big": "The file is too big: at most {max} MB.",
            "subs_err_not_utf8": "The file is not UTF-8 text (byte {byte} cannot be read); save it as UTF-8 CSV.",
        },
    }
)

PAGE_SIZE = 50
MAX_UPLOAD = 5 * 1024 * 1024
MAX_ID = 2**31 - 1
SubscriberId = Annotated[int, Path(ge=1, le=MAX_ID)]
ListSlug = Annotated[str, Query(alias="list", max_length=64)]


def _web(request: Request):
    return request.app.state.web


def _list(session, slug: str | None) -> models.MailingList:
    try:
        return get_list(session, slug or None)
    except NotFound:
        raise PageError(404, "not_found") from None


def _all_lists(session) -> list[tuple[str, str]]:
    return [(m.slug, m.name) for m in session.scalars(select(models.MailingList).order_by(models.MailingList.slug))]


def _row(web, ml, sub: models.Subscription, topic_names: dict, suppressed: set[str]) -> dict:
    person = sub.subscriber
    return {
        "id": person.id, "email": person.email, "name": person.name, "status": sub.status,
        "regions": [web.regions.display(c) for c in sub.region_codes or () if c in web.regions],
        "topics": [topic_names.get(s, s) for s in sub.topic_slugs or ()],
        "created": sub.created_at.astimezone(zone(ml.time_zone)).strftime("%Y-%m-%d"),
        "suppressed": person.email in suppressed,
    }  # fmt: skip


def _find(web, session, ml, q, region, topic, status, *, limit, offset):
    query = subscriber_query(ml, web.regions, text=q, region=region, topic=topic, status=status)
    return query, search_subscriptions(session, ml, web.regions, query, limit=limit, offset=offset)


@router.get("/subscribers")
def subscribers(
    request: Request,
    admin: AdminOnly,
    list_slug: ListSlug = "",
    q: Annotated[str, Query(max_length=200)] = "",
    region: Annotated[str, Query(max_length=100)] = "",
    topic: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
):
    web = _web(request)
    errors: dict[str, FieldError] = {}
    rows, total, counts, warnings = [], 0, {}, ()
    with web.factory.begin() as session:
        ml = _list(session, list_slug)
        try:
            query, found = _find(web, session, ml, q, region, topic, status, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        except Invalid as exc:
            errors = exc.errors
        else:
            names = {t.slug: t.name for t in ml.topics}
            blocked = suppressed_emails(session, [s.subscriber.email for s in found.rows])
            rows = [_row(web, ml, s, names, blocked) for s in found.rows]
            total, counts, warnings = found.total, found.counts, query.warnings
        filters = {"list": ml.slug, "q": q, "region": region, "topic": topic, "status": status}
        context = {
            "ml_name": ml.name, "lists": _all_lists(session), "topics": [(t.slug, t.name) for t in ml.topics],
            "filters": filters, "rows": rows, "total": total, "counts": counts, "warnings": warnings,
            "statuses": STATUSES, "errors": errors, "page": page, "pages": max(1, -(-total // PAGE_SIZE)),
            "query": urlencode(filters), "status_query": urlencode({k: v for k, v in filters.items() if k != "status"}),
        }  # fmt: skip
    return admin_page(request, "subscribers.html", admin=admin, status=400 if errors else 200, **context)


@router.get("/subscribers/export.csv")
def export(
    request: Request,
    admin: AdminOnly,
    list_slug: ListSlug = "",
    q: Annotated[str, Query(max_length=200)] = "",
    region: Annotated[str, Query(max_length=100)] = "",
    topic: Annotated[str, Query(max_length=100)] = "",
    status: Annotated[str, Query(max_length=20)] = "",
):
    web = _web(request)
    out = io.StringIO()
    with web.factory.begin() as session:
        ml = _list(session, list_slug)
        try:
            _, found = _find(web, session, ml, q, region, topic, status, limit=None, offset=0)
        except Invalid:
            raise PageError(400, "bad_request") from None
        write_csv(export_rows(found.rows, web.regions, ml), out)
        slug = re.sub(r"[^A-Za-z0-9_-]", "_", ml.slug)
    # The byte-order mark lets spreadsheets read the Chinese as UTF-8; the importer skips it.
    name = f"subscribers-{slug}-{date.today().isoformat()}.csv"
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _import_page(request, admin, session, ml, *, status=200, **context):
    context = {"errors": {}, "report": None, "rejected": 0, "file_name": "", "confirmed": True} | context
    return admin_page(request, "subscribers_import.html", admin=admin, status=status, ml_slug=ml.slug, ml_name=ml.name,
                      lists=_all_lists(session), **context)  # fmt: skip


@router.get("/subscribers/import")
def import_form(request: Request, admin: AdminOnly, list_slug: ListSlug = ""):
    with _web(request).factory.begin() as session:
        return _import_page(request, admin, session, _list(session, list_slug))


@router.post("/subscribers/import")
def import_csv(
    request: Request,
    admin: AdminOnly,
    file: Annotated[UploadFile | None, File()] = None,
    list: Annotated[str, Form(max_length=64)] = "",
    confirmed: Annotated[str, Form(max_length=5)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = _web(request)
    web.check_csrf(request, csrf_token, "subs-import")
    errors: dict[str, FieldError] = {}
    name = os.path.basename((file.filename or "").replace("\\", "/"))[:200] if file else ""
    data = file.file.read(MAX_UPLOAD + 1) if file and name else b""
    text = ""
    if not name:
        errors["file"] = FieldError("subs_err_file_required")
    elif len(data) > MAX_UPLOAD:
        errors["file"] = FieldError("subs_err_too_big", {"max": MAX_UPLOAD // (1024 * 1024)})
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            errors["file"] = FieldError("subs_err_not_utf8", {"byte": exc.start + 1})
    with web.factory.begin() as session:
        ml = _list(session, list)
        report = None
        if not errors:
            default = "confirmed" if confirmed == "1" else "pending"
            report = import_subscribers_csv(session, ml, web.regions, text, source=name, default_status=default)
        rejected = len({p.line for p in report.problems if p.severity == "error"}) if report else 0
        return _import_page(request, admin, session, ml, status=400 if errors else 200, errors=errors, report=report,
                            rejected=rejected, file_name=name, confirmed=confirmed == "1")  # fmt: skip


def _current(web, sub: models.Subscription) -> dict:
    person = sub.subscriber
    return {
        "name": person.name, "status": sub.status, "time_zone": person.time_zone, "locale": person.locale,
        "regions": ", ".join(web.regions.display(c) for c in sub.region_codes or () if c in web.regions),
        "topics": list(sub.topic_slugs or ()),
    }  # fmt: skip


def _edit_page(request, admin, session, ml, sub, form, *, status=200, errors=None, warnings=(), notice=None):
    web = _web(request)
    person = sub.subscriber
    names = {t.slug: t.name for t in ml.topics}
    return admin_page(
        request, "subscribers_edit.html", admin=admin, status=status, ml_slug=ml.slug, ml_name=ml.name,
        person=_row(web, ml, sub, names, suppressed_emails(session, [person.email])), form=form,
        topics=[(t.slug, t.name) for t in ml.topics], statuses=STATUSES, time_zones=TIME_ZONES, locales=LANGUAGES,
        region_names=[web.regions.full_name(c) for c in sub.region_codes or () if c in web.regions],
        errors=errors or {}, warnings=warnings, notice=notice,
    )  # fmt: skip


def _subscription(session, ml, subscriber_id: int) -> models.Subscription:
    try:
        return get_subscription(session, ml, subscriber_id)
    except NotFound:
        raise PageError(404, "not_found") from None


@router.get("/subscribers/{subscriber_id}")
def edit_form(request: Request, admin: AdminOnly, subscriber_id: SubscriberId, list_slug: ListSlug = "", saved: int = 0):
    with _web(request).factory.begin() as session:
        ml = _list(session, list_slug)
        sub = _subscription(session, ml, subscriber_id)
        return _edit_page(request, admin, session, ml, sub, _current(_web(request), sub), notice="subs_saved" if saved else None)


@router.post("/subscribers/{subscriber_id}")
def save(
    request: Request,
    admin: AdminOnly,
    subscriber_id: SubscriberId,
    list: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=1000)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    regions: Annotated[str, Form(max_length=2000)] = "",
    topic: Annotated[list[str], Form(max_length=100)] = [],  # noqa: B006 - FastAPI copies defaults
    time_zone: Annotated[str, Form(max_length=64)] = "",
    locale: Annotated[str, Form(max_length=16)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = _web(request)
    web.check_csrf(request, csrf_token, f"subs-edit-{subscriber_id}")
    form = {"name": name, "status": status, "regions": regions, "topics": topic, "time_zone": time_zone, "locale": locale}
    with web.factory.begin() as session:
        ml = _list(session, list)
        sub = _subscription(session, ml, subscriber_id)
        changes = {k: v for k, v in form.items() if k != "regions"}
        # Only a changed regions text is read again: re-reading an untouched label could move its codes.
        if regions.strip() != _current(web, sub)["regions"]:
            changes["regions"] = split_labels(regions)
        try:
            warnings = edit_subscription(session, ml, web.regions, sub, changes)
        except Invalid as exc:
            return _edit_page(request, admin, session, ml, sub, form, status=400, errors=exc.errors)
        if warnings:
            return _edit_page(request, admin, session, ml, sub, _current(web, sub), warnings=warnings, notice="subs_saved")
    target = f"/admin/subscribers/{subscriber_id}?" + urlencode({"list": ml.slug, "saved": 1})
    return RedirectResponse(target, status_code=303)


@router.get("/suppressions")
def suppressions(
    request: Request,
    admin: AdminOnly,
    q: Annotated[str, Query(max_length=200)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=20)] = "",
):
    notice = {"added": "subs_supp_added", "updated": "subs_supp_updated", "removed": "subs_supp_removed"}.get(done)
    return _suppressions_page(request, admin, q=q, page=page, notice=notice)


def _suppressions_page(request, admin, *, q="", page=1, notice=None, errors=None, form=None, status=200):
    with _web(request).factory.begin() as session:
        rows, total = search_suppressions(session, q, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        rows = [{"id": r.id, "email": r.email, "reason": r.reason, "created": r.created_at.strftime("%Y-%m-%d")} for r in rows]
    return admin_page(
        request, "subscribers_suppressions.html", admin=admin, status=status, rows=rows, total=total, q=q, page=page,
        pages=max(1, -(-total // PAGE_SIZE)), notice=notice, errors=errors or {}, form=form or {"email": "", "reason": ""},
    )  # fmt: skip


@router.post("/suppressions")
def suppress(
    request: Request,
    admin: AdminOnly,
    email: Annotated[str, Form(max_length=1000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = _web(request)
    web.check_csrf(request, csrf_token, "subs-supp-add")
    try:
        with web.factory.begin() as session:
            _, created = add_suppression(session, email, reason)
    except Invalid as exc:
        form = {"email": email[:320], "reason": reason[:300]}
        return _suppressions_page(request, admin, errors=exc.errors, form=form, status=400)
    return RedirectResponse(f"/admin/suppressions?done={'added' if created else 'updated'}", status_code=303)


@router.post("/suppressions/{suppression_id}/delete")
def unsuppress(
    request: Request,
    admin: AdminOnly,
    suppression_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    csrf_token: Annotated[str | None, Form()] = None,
):
    web = _web(request)
    web.check_csrf(request, csrf_token, f"subs-supp-remove-{suppression_id}")
    try:
        with web.factory.begin() as session:
            remove_suppression(session, suppression_id=suppression_id)
    except NotFound:
        raise PageError(404, "not_found") from None
    return RedirectResponse("/admin/suppressions?done=removed", status_code=303)
