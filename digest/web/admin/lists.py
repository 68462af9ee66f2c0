"""Admin pages: lists. Every list with its subscriber counts; one list's settings, schedule, branding and topics.

Admins only. The settings page is one form and one transaction: a single bad
field re-shows the form with what was typed and saves nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, cast

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from digest.adapters.storage import models
from digest.core.leads import ARTICLE_TEXT_MODES
from digest.core.schedule import WEEKDAYS
from digest.services.list_editing import (
    LANGUAGES,
    settings_of,
    subscriber_counts,
    update_list,
)
from digest.services.lists import all_lists
from digest.services.setup_notes import sender_is_deliverable
from digest.services.validation import FieldError, Invalid
from digest.web import TIME_ZONES
from digest.web.admin import (
    AdminOnly,
    admin_page,
    list_or_404,
)
from digest.web.i18n import add_words

router = APIRouter(prefix="/admin")
Slug = Annotated[str, Path(max_length=64)]
BLANK_CREDIT_ROWS = 3

add_words(
    {
        "zh-CN": {
            "lists_title": "邮件列表",
            "lists_col_name": "名称",
            "lists_col_slug": "标识",
            "lists_col_confirmed": "已订阅",
            "lists_col_pending": "待确认",
            "lists_col_unsubscribed": "已退订",
            "lists_col_schedule": "发送时间",
            "lists_settings_link": "设置",
            "lists_schedule_off": "（已停用）",
            "lists_settings_title": "列表设置：{name}",
            "lists_back": "返回邮件列表",
            "lists_section_general": "基本设置",
            "lists_section_schedule": "发送时间",
            "lists_section_branding": "刊头与页脚",
            "lists_section_topics": "栏目",
            "lists_name": "列表名称",
            "lists_sender_name": "发件人名称",
            "lists_sender_email": "发件人邮箱",
            "lists_reply_to": "回复地址（可选）",
            "lists_language": "语言",
            "lists_article_text": "邮件中的文章",
            "lists_article_text_lead": "导语（首段）加“阅读全文”链接",
            "lists_article_text_full": "全文",
            "lists_weekday": "星期",
            "lists_time": "时间（HH:MM）",
            "lists_time_zone": "时区",
            "lists_time_zone_help": "列表的时区决定每期覆盖哪一周；每位订阅者在自己时区的这个时间收到。",
            "lists_enabled": "按时自动发送",
            "lists_rate": "发送速率上限（封/秒，0 为不限）",
            "lists_catch_up": "补发时限（小时）",
            "lists_catch_up_help": "调度停机后，超过发送时间这么久的一期不再补发，等下一期。",
            "lists_masthead": "刊头",
            "lists_tagline": "副标题",
            "lists_credits": "页脚署名",
            "lists_credits_help": "按顺序显示，如 制作、责任编辑、审核。两格都留空的行会被忽略。",
            "lists_credit_label": "名目",
            "lists_credit_value": "内容",
            "lists_contact_email": "联系邮箱（可选）",
            "lists_postal_address": "通讯地址（可选）",
            "lists_topic_position": "顺序",
            "lists_topic_slug": "标识",
            "lists_topic_name": "栏目名称",
            "lists_topics_help": "修改名称即改名；修改顺序号后保存即重新排序。",
            "lists_new_topic": "新增栏目（可选）",
            "lists_new_topic_slug": "新栏目标识（小写字母、数字、连字符）",
            "lists_new_topic_name": "新栏目名称",
            "lists_save": "保存设置",
            "lists_saved": "设置已保存。",
            "lists_form_errors": "有字段需要修改，什么都没有保存。",
            "lists_weekday_0": "星期一",
            "lists_weekday_1": "星期二",
            "lists_weekday_2": "星期三",
            "lists_weekday_3": "星期四",
            "lists_weekday_4": "星期五",
            "lists_weekday_5": "星期六",
            "lists_weekday_6": "星期日",
            "lists_err_required": "此项必填。",
            "lists_err_type": "此项的值类型不对。",
            "lists_err_too_long": "太长了，最多 {max} 个字符。",
            "lists_err_control": "“{field}”不能包含换行、其他控制字符或双向文本控制符。",
            "lists_err_email": "请输入有效的电子邮箱地址。",
            "lists_err_language": "请选择中文或英文。",
            "lists_err_article_text": "“邮件中的文章”只能是 lead（导语）或 full（全文），而不是“{value}”。",
            "lists_err_weekday": "请选择星期一到星期日之一。",
            "lists_err_time": "请写成 08:00 这样的 24 小时制时间。",
            "lists_err_zone": "“{value}”不是有效的时区，请使用 Asia/Shanghai 这样的 IANA 名称。",
            "lists_err_rate": "请填写 0 到 {max} 之间的数字。",
            "lists_err_catch_up": "补发时限请填写 0 到 {max} 之间的小时数。",
            "lists_err_credit_incomplete": "第 {row} 行：名目和内容需同时填写。",
            "lists_err_credit_long": "第 {row} 行：名目最多 20 个字符，内容最多 200 个字符。",
            "lists_err_too_many": "最多 {max} 项。",
            "lists_err_topic_missing": "不能删除栏目：{name}。",
            "lists_err_topic_slug": "栏目标识“{slug}”无效：只能使用小写字母、数字和连字符。",
            "lists_err_topic_name": "栏目“{slug}”的名称不能为空，最多 100 个字符。",
            "lists_err_topic_duplicate": "栏目的标识和名称不能重复。",
            "lists_err_topic_position": "顺序必须是整数。",
            "lists_err_unknown_field": "没有这个设置项。",
            "lists_err_slug": "标识“{value}”无效：只能使用小写字母、数字和连字符，最多 64 个字符。",
            "lists_err_slug_taken": "已有标识为“{value}”的列表。",
        },
        "en": {
            "lists_title": "Lists",
            "lists_col_name": "Name",
            "lists_col_slug": "Slug",
            "lists_col_confirmed": "Subscribed",
            "lists_col_pending": "Pending",
            "lists_col_unsubscribed": "Unsubscribed",
            "lists_col_schedule": "Sends",
            "lists_settings_link": "Settings",
            "lists_schedule_off": "(off)",
            "lists_settings_title": "List settings: {name}",
            "lists_back": "Back to the lists",
            "lists_section_general": "General",
            "lists_section_schedule": "Schedule",
            "lists_section_branding": "Masthead and footer",
            "lists_section_topics": "Topics",
            "lists_name": "List name",
            "lists_sender_name": "Sender name",
            "lists_sender_email": "Sender email",
            "lists_reply_to": "Reply-to (optional)",
            "lists_language": "Language",
            "lists_article_text": "Articles in the mail",
            "lists_article_text_lead": "The lead (first paragraph) and a “Read the full article” link",
            "lists_article_text_full": "The full text",
            "lists_weekday": "Weekday",
            "lists_time": "Time (HH:MM)",
            "lists_time_zone": "Time zone",
            "lists_time_zone_help": (
                "The list's zone decides which week an issue covers;"
                " each subscriber gets it at this time in their own zone."
            ),
            "lists_enabled": "Send automatically on schedule",
            "lists_rate": "Rate limit (messages a second, 0 = none)",
            "lists_catch_up": "Catch-up window (hours)",
            "lists_catch_up_help": (
                "After the scheduler was down, an issue later than this past its slot is not sent; "
                "the next slot comes as usual."
            ),
            "lists_masthead": "Masthead",
            "lists_tagline": "Tagline",
            "lists_credits": "Footer credits",
            "lists_credits_help": (
                "Shown in this order (production, editor, review…). Rows with both cells empty are ignored."
            ),
            "lists_credit_label": "Label",
            "lists_credit_value": "Value",
            "lists_contact_email": "Contact email (optional)",
            "lists_postal_address": "Postal address (optional)",
            "lists_topic_position": "Order",
            "lists_topic_slug": "Slug",
            "lists_topic_name": "Topic name",
            "lists_topics_help": "Change a name to rename; change the order numbers and save to reorder.",
            "lists_new_topic": "Add a topic (optional)",
            "lists_new_topic_slug": "New topic slug (lower-case letters, digits, hyphens)",
            "lists_new_topic_name": "New topic name",
            "lists_save": "Save settings",
            "lists_saved": "Settings saved.",
            "lists_form_errors": "Some fields need fixing; nothing was saved.",
            "lists_weekday_0": "Monday",
            "lists_weekday_1": "Tuesday",
            "lists_weekday_2": "Wednesday",
            "lists_weekday_3": "Thursday",
            "lists_weekday_4": "Friday",
            "lists_weekday_5": "Saturday",
            "lists_weekday_6": "Sunday",
            "lists_err_required": "This field is required.",
            "lists_err_type": "This field has a value of the wrong type.",
            "lists_err_too_long": "Too long: at most {max} characters.",
            "lists_err_control": "“{field}” may not hold line breaks, other control characters or bidi controls.",
            "lists_err_email": "Enter a valid email address.",
            "lists_err_language": "Choose Chinese or English.",
            "lists_err_article_text": "Articles in the mail (article_text) is lead or full, not “{value}”.",
            "lists_err_weekday": "Choose a day from Monday to Sunday.",
            "lists_err_time": "Write a 24-hour time like 08:00.",
            "lists_err_zone": "“{value}” is not a time zone; use an IANA name such as Asia/Shanghai.",
            "lists_err_rate": "Enter a number from 0 to {max}.",
            "lists_err_catch_up": "Enter the catch-up window in hours, from 0 to {max}.",
            "lists_err_credit_incomplete": "Row {row}: fill in both the label and the value.",
            "lists_err_credit_long": "Row {row}: labels take at most 20 characters, values 200.",
            "lists_err_too_many": "At most {max} entries.",
            "lists_err_topic_missing": "Topics cannot be removed: {name}.",
            "lists_err_topic_slug": "Topic slug “{slug}” is invalid: lower-case letters, digits and hyphens only.",
            "lists_err_topic_name": "Topic “{slug}” needs a name of at most 100 characters.",
            "lists_err_topic_duplicate": "Topic slugs and names must be unique.",
            "lists_err_topic_position": "Order numbers must be whole numbers.",
            "lists_err_unknown_field": "There is no such setting.",
            "lists_err_slug": "The slug “{value}” is invalid: lower-case letters, digits and hyphens, at most 64.",
            "lists_err_slug_taken": "There is a list with the slug “{value}” already.",
        },
    }
)


def _overview(ml: models.MailingList, counts: dict[str, int]) -> dict:
    return {
        "slug": ml.slug,
        "name": ml.name,
        "counts": counts,
        "weekday": ml.send_weekday,
        "time": ml.send_time,
        "zone": ml.time_zone,
        "enabled": ml.schedule_enabled,
    }


@router.get("/lists")
def lists(request: Request, admin: AdminOnly):
    with request.app.state.web.factory.begin() as session:
        counts = subscriber_counts(session)
        mls = all_lists(session)
        rows = [_overview(ml, counts.get(ml.id, {})) for ml in mls]
    return admin_page(request, "lists.html", admin=admin, rows=rows)


@dataclass(frozen=True)
class SettingsShown:
    """What the settings page shows: the list, the form's values, its stored topics, how the last save went."""

    list_name: str
    slug: str
    form: dict
    existing: list[str]  # slugs of the topics stored now
    errors: Mapping[str, FieldError] = field(default_factory=dict)
    notice: str | None = None


def _page(request, admin, shown: SettingsShown):
    """The settings page; refused fields in `shown` make it a 400."""
    form, existing = shown.form, shown.existing
    # A topic being added is shown in the "new topic" fields again, so a bad slug can be fixed.
    topic_rows = [pair for pair in form["topics"] if pair[0] in existing]
    new_topic = next((pair for pair in form["topics"] if pair[0] not in existing), ["", ""])
    return admin_page(
        request,
        "lists_edit.html",
        admin=admin,
        status=400 if shown.errors else 200,
        slug=shown.slug,
        list_name=shown.list_name,
        form=form,
        topic_rows=topic_rows,
        new_topic=new_topic,
        errors=shown.errors,
        notice=shown.notice,
        weekdays=WEEKDAYS,
        list_languages=LANGUAGES,
        article_text_modes=ARTICLE_TEXT_MODES,
        time_zones=TIME_ZONES,
        blank_credits=BLANK_CREDIT_ROWS,
        # Taken, yet said beside the field as on the dashboard: no mail server delivers from a local domain.
        sender_undeliverable=not sender_is_deliverable(str(form.get("sender_email") or "")),
    )


@router.get("/lists/{slug}")
def settings_form(request: Request, admin: AdminOnly, slug: Slug, saved: int = 0):
    with request.app.state.web.factory.begin() as session:
        ml = list_or_404(session, slug)
        form, name, existing = settings_of(ml), ml.name, [t.slug for t in ml.topics]
    return _page(request, admin, SettingsShown(name, slug, form, existing, notice="lists_saved" if saved else None))


def form_changes(data) -> tuple[dict, dict[str, FieldError]]:
    """The submitted form as `update_list` changes; order numbers become the topic order."""
    one = {
        name: str(data.get(name, ""))[:2000]
        for name in (
            "name",
            "sender_name",
            "sender_email",
            "reply_to",
            "language",
            "weekday",
            "time",
            "time_zone",
            "rate_limit",
            "masthead",
            "tagline",
            "contact_email",
            "postal_address",
        )
    }
    changes: dict = dict(one, schedule_enabled=data.get("schedule_enabled") == "1")
    # A form from before a field existed keeps the list's value.
    for later in ("catch_up_hours", "article_text", "review_below", "bounce_domain", "bounce_threshold"):
        if later in data:
            changes[later] = str(data.get(later))[:50]
    labels, values = data.getlist("credit_label"), data.getlist("credit_value")
    changes["credits"] = [[str(a)[:500], str(b)[:500]] for a, b in zip(labels, values, strict=False)]
    errors: dict[str, FieldError] = {}
    slugs, names, positions = data.getlist("topic_slug"), data.getlist("topic_name"), data.getlist("topic_position")
    topics = []
    for i, (slug, name, position) in enumerate(zip(slugs, names, positions, strict=False)):
        try:
            topics.append((int(str(position).strip()), i, str(slug), str(name)[:500]))
        except ValueError:
            errors["topics"] = FieldError("lists_err_topic_position")
    new_slug, new_name = str(data.get("new_topic_slug", "")).strip(), str(data.get("new_topic_name", "")).strip()
    if new_slug or new_name:
        topics.append((10**6, len(topics), new_slug[:100], new_name[:500]))
    changes["topics"] = [[slug, name] for _, _, slug, name in sorted(topics)]
    return changes, errors


@router.post("/lists/{slug}")
async def save_settings(request: Request, admin: AdminOnly, slug: Slug):
    web = request.app.state.web
    data = await request.form(max_fields=400)
    web.check_csrf(
        request, data.get("csrf_token") if isinstance(data.get("csrf_token"), str) else None, f"lists-edit-{slug}"
    )
    # Database work stays off the event loop.
    return await run_in_threadpool(_save, request, admin, slug, data)


def _save(request, admin, slug, data):
    web = request.app.state.web
    with web.factory.begin() as session:
        ml = list_or_404(session, slug)
        changes, errors = form_changes(data)
        existing = [t.slug for t in ml.topics]
        if not errors:
            try:
                update_list(session, ml, changes)
            except Invalid as exc:
                errors = exc.errors
        name = ml.name if errors else None
        # The form shown again holds every field.
        changes.setdefault("catch_up_hours", ml.catch_up_hours)
        changes.setdefault("review_below", ml.review_below)
        changes.setdefault("bounce_domain", ml.bounce_domain or "")
        changes.setdefault("bounce_threshold", ml.bounce_threshold)
    if errors:
        # With errors, `name` is the list's name (read above), not None.
        return _page(request, admin, SettingsShown(cast(str, name), slug, changes, existing, errors=errors))
    web.list_changed(slug)
    return RedirectResponse(f"/admin/lists/{slug}?saved=1", status_code=303)
