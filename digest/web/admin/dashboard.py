"""The dashboard: the console's front page. Headline figures and three charts, drawn as inline SVG.

Figures come from digest.services.stats, geometry from charts.py; the template
only draws. Every chart carries a <title>, a <desc> and a data table, so a
screen reader (or anyone who prefers numbers) loses nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from digest.services import NotFound
from digest.services.article_review import count_waiting
from digest.services.lists import get_list
from digest.services.setup_notes import setup_notes
from digest.services.stats import DELIVERY_SERIES, EVERYWHERE
from digest.services.stats import dashboard as dashboard_figures
from digest.web import PageError
from digest.web.admin import SignedIn, admin_page, list_choices
from digest.web.admin.charts import LEFT, RIGHT, horizontal_bars, line_chart, stacked_bars
from digest.web.i18n import add_words

router = APIRouter(prefix="/admin")

add_words(
    {
        "zh-CN": {
            "dash_list": "邮件列表",
            "dash_show": "查看",
            "dash_confirmed": "已确认订阅者",
            "dash_pending": "待确认",
            "dash_issues_sent": "已发送期数",
            "dash_rate": "最近一期送达率",
            "dash_rate_detail": "第{number}期：{sent} / {attempted}",
            "dash_rate_none": "尚无投递",
            "dash_growth_title": "订阅者增长（近 26 周）",
            "dash_growth_desc": "每周末的已确认订阅者人数。最近一周为 {last} 人，26 周前为 {first} 人。",
            "dash_deliveries_title": "各期投递情况（近 12 期）",
            "dash_deliveries_desc": "每期投递按结果堆叠：已送达、失败、退信、已跳过、等待中。",
            "dash_deliveries_none": "还没有期刊。",
            "dash_provinces_title": "各省订阅者（前 15 名）",
            "dash_provinces_desc": "按所选地区所在省份统计已确认订阅者；选了多个省的订阅者在每个省各计一次。",
            "dash_everywhere": "全部地区",
            "dash_data_table": "查看数据表",
            "dash_col_week": "周（起始日）",
            "dash_col_subscribers": "订阅者",
            "dash_col_issue": "期",
            "dash_col_province": "省份",
            "dash_issue_short": "第{number}期",
            "dash_notes_title": "发送之前",
            "dash_note_sender": (
                "发件地址仍是 {sender}：邮件服务器不会投递这个地址发出的邮件，请改为本刊自己的域名下的地址。"
            ),
            "dash_note_postal": "还没有填写通信地址：反垃圾邮件法规要求每封邮件写明发件人的通信地址。",
            "dash_note_schedule": "自动发送已开启：每{weekday} {time}（{zone}）按订阅者的时区发出当期。",
            "dash_note_manual": "自动发送未开启：期刊只在您发送时发出。",
            "dash_note_fix": "修改列表设置",
        },
        "en": {
            "dash_list": "List",
            "dash_show": "Show",
            "dash_confirmed": "Confirmed subscribers",
            "dash_pending": "Awaiting confirmation",
            "dash_issues_sent": "Issues sent",
            "dash_rate": "Last issue's delivery rate",
            "dash_rate_detail": "Issue {number}: {sent} / {attempted}",
            "dash_rate_none": "no delivery yet",
            "dash_growth_title": "Subscribers over time (last 26 weeks)",
            "dash_growth_desc": (
                "Confirmed subscribers at the end of each week: {last} in the latest week, {first} 26 weeks ago."
            ),
            "dash_deliveries_title": "Deliveries per issue (last 12 issues)",
            "dash_deliveries_desc": (
                "Each issue's deliveries stacked by outcome: sent, failed, bounced, skipped, waiting."
            ),
            "dash_deliveries_none": "No issue yet.",
            "dash_provinces_title": "Subscribers per province (top 15)",
            "dash_provinces_desc": (
                "Confirmed subscribers by the province of the regions they picked;"
                " one who picked two provinces counts in both."
            ),
            "dash_everywhere": "All regions",
            "dash_data_table": "Show the data",
            "dash_col_week": "Week of",
            "dash_col_subscribers": "Subscribers",
            "dash_col_issue": "Issue",
            "dash_col_province": "Province",
            "dash_issue_short": "No. {number}",
            "dash_notes_title": "Before you send",
            "dash_note_sender": (
                "The sender is still {sender}: mail servers will not deliver mail from it. Use an address at"
                " your own domain."
            ),
            "dash_note_postal": (
                "No postal address yet: anti-spam laws ask for the sender's postal address in every mail."
            ),
            "dash_note_schedule": (
                "Automatic sending is on: each issue goes out on {weekday} at {time} ({zone}), in each"
                " subscriber's time zone."
            ),
            "dash_note_manual": "Automatic sending is off: issues go out only when you send them.",
            "dash_note_fix": "Edit the list's settings",
        },
    }
)


@router.get("/")
def dashboard(request: Request, admin: SignedIn, list: Annotated[str | None, Query(max_length=64)] = None):
    web = request.app.state.web
    with web.factory.begin() as session:
        try:
            ml = get_list(session, list)
        except NotFound:
            raise PageError(404, "not_found") from None
        lists = list_choices(session)
        figures = dashboard_figures(session, ml, web.regions, web.runtime.kept, sessions=web.factory)
        slug, name, notes = ml.slug, ml.name, setup_notes(ml)
        waiting = count_waiting(session, ml.id)  # on its partial index: the queue, not the table
    head, growth, issues = figures.head, figures.growth, figures.issues
    provinces, national, everywhere = figures.provinces
    growth_chart = line_chart(
        [p.confirmed for p in growth], [f"{p.week_start.month}/{p.week_start.day}" for p in growth]
    )
    delivery_chart = stacked_bars(DELIVERY_SERIES, [(f"#{b.number}", b.counts) for b in issues])
    rows = [(p.name, p.subscribers, "province") for p in provinces]
    rows += [(national.name, national.subscribers, "national"), (EVERYWHERE, everywhere.subscribers, "everywhere")]
    province_chart = horizontal_bars(rows)
    return admin_page(
        request,
        "dashboard.html",
        admin=admin,
        ml=slug,
        ml_name=name,
        notes=notes,
        waiting=waiting,
        lists=lists,
        head=head,
        growth=growth,
        growth_chart=growth_chart,
        issues=issues,
        delivery_chart=delivery_chart,
        series=DELIVERY_SERIES,
        province_chart=province_chart,
        everywhere_key=EVERYWHERE,
        left=LEFT,
        right=RIGHT,
    )
