"""The dashboard: chart geometry (pure) and the page's figures and SVG (SQLite and PostgreSQL)."""

from __future__ import annotations

import re

import pytest
from personas import SUN_EDITOR, subscribe_confirmed
from webutil import PERIOD_END, add_staff, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.setup_notes import sender_is_deliverable
from digest.services.subscribers import upsert_subscription
from digest.web.admin.charts import (
    BOTTOM,
    LEFT,
    RIGHT,
    TOP,
    horizontal_bars,
    line_chart,
    nice_ticks,
    stacked_bars,
)

REGIONS = load_regions()


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (0, [0, 1]),
        (1, [0, 1]),
        (3, [0, 1, 2, 3]),
        (17, [0, 5, 10, 15, 20]),
        (20, [0, 5, 10, 15, 20]),
        (101, [0, 50, 100, 150]),
        (9_500, [0, 5000, 10000]),
        (7_000, [0, 2000, 4000, 6000, 8000]),
    ],
)
def test_ticks_are_round_and_reach_the_largest_value(maximum, ticks):
    assert nice_ticks(maximum) == ticks


def test_a_line_chart_spans_the_plot_and_puts_values_where_the_ticks_say():
    chart = line_chart([0, 5, 10, 20], ["a", "b", "c", "d"], width=400, height=200)
    first, *_, last = chart.points
    assert (first.x, last.x) == (LEFT, 400 - RIGHT)
    assert first.y == chart.baseline == 200 - BOTTOM and last.y == TOP  # 20 is the top tick
    tick_y = {t.value: t.y for t in chart.ticks}
    assert chart.points[2].y == tick_y[10] and chart.points[1].y == tick_y[5]
    assert chart.line.startswith(f"M{LEFT},{200 - BOTTOM}") and chart.line.count("L") == 3
    assert chart.area.endswith("Z")
    many = line_chart(list(range(26)), [str(i) for i in range(26)], max_labels=7)
    assert many.x_labels[-1].label == "25" and len(many.x_labels) <= 7


def test_stacked_bars_stack_in_series_order_and_skip_empty_segments():
    chart = stacked_bars(("sent", "failed", "skipped"), [("#1", {"sent": 6, "failed": 2}), ("#2", {})], height=200)
    one, two = chart.bars
    assert [s.series for s in one.segments] == ["sent", "failed"] and two.segments == () and two.total == 0
    sent, failed = one.segments
    assert sent.y + sent.height == pytest.approx(chart.baseline)  # sent sits on the axis
    assert failed.y + failed.height == pytest.approx(sent.y)  # failed sits on sent
    assert sent.height == pytest.approx(3 * failed.height, abs=0.2)
    assert one.top == failed.y and one.x < two.x


def test_horizontal_bars_are_in_proportion_to_the_largest():
    chart = horizontal_bars([("湖南", 10, "province"), ("全国", 5, "national"), ("*", 0, "everywhere")], width=600)
    big, half, empty = chart.rows
    assert big.width == 600 - chart.label_width - 48 and half.width == big.width / 2 and empty.width == 0
    assert [r.y for r in chart.rows] == [4, 28, 52] and chart.height == 72


def _world(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        subscribe_confirmed(session, ml, REGIONS)
        upsert_subscription(session, ml, REGIONS, email="new@example.org", status="pending")
        issue = plan_issue(session, ml, PERIOD_END)
        subs = session.query(models.Subscriber).order_by(models.Subscriber.id).limit(6).all()
        for sub, status in zip(subs, ["sent", "sent", "sent", "bounced", "failed", "skipped"], strict=True):
            session.add(models.Delivery(issue_id=issue.id, subscriber_id=sub.id, status=status))
        issue.status = "sent"


def test_the_dashboard_draws_three_charts_with_the_right_numbers(site):
    _world(site.url)
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    page = site.client.get("/admin/")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 3 and 'role="img"' in html
    assert "style=" not in html  # the CSP would block it: charts are styled by class

    def stat(key):
        return re.search(rf'id="stat-{key}">.*?<dd class="stat">([^<]+)</dd>', html, re.DOTALL).group(1)

    assert (stat("confirmed"), stat("pending"), stat("issues"), stat("rate")) == ("6", "1", "1", "60.0%")
    assert "第1期：3 / 5" in html
    growth = html.split('id="chart-growth"')[1].split("</section>")[0]
    assert growth.count('<circle class="dot"') == 26
    assert re.findall(r'<circle class="dot"[^>]*data-value="(\d+)"', growth)[-1] == "6"
    deliveries = html.split('id="chart-deliveries"')[1].split("</section>")[0]
    assert re.findall(r'class="seg seg-(\w+)"[^>]*data-value="(\d+)"', deliveries) == [
        ("sent", "3"),
        ("failed", "1"),
        ("bounced", "1"),
        ("skipped", "1"),
    ]
    assert 'data-total="6"' in deliveries and "#1" in deliveries
    provinces = html.split('id="chart-provinces"')[1].split("</section>")[0]
    rows = re.findall(r'<g class="hrow (\w+)" data-value="(\d+)">\s*<text[^>]*>([^<]+)</text>', provinces)
    assert rows == [
        ("province", "2", "陕西"),
        ("province", "1", "湖南"),
        ("province", "1", "西藏"),
        ("national", "1", "全国"),
        ("everywhere", "1", "全部地区"),
    ]
    # The text fallback carries the same numbers.
    assert "<desc" in growth and "<table" in growth and "<table" in deliveries and "<table" in provinces
    english = site.client.get("/admin/?lang=en").text
    assert "Subscribers over time" in english and "All regions" in english


def test_an_empty_dashboard_still_renders(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    page = site.client.get("/admin/")
    assert page.status_code == 200 and page.text.count("<svg") == 2 and "还没有期刊" in page.text
    assert "尚无投递" in page.text
    assert site.client.get("/admin/?list=nope").status_code == 404


def _notes(html: str) -> list[str]:
    return re.findall(r'data-note="([a-z_]+)"', html)


def test_a_first_time_admin_is_told_what_the_list_still_needs_before_it_sends(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.sender_email, ml.postal_address, ml.schedule_enabled = "weekly@localhost", None, True
        ml.send_weekday, ml.send_time = 0, "08:00"
    page = site.client.get("/admin/").text
    assert _notes(page) == ["dash_note_sender", "dash_note_postal", "dash_note_schedule"]
    assert "发件地址仍是 weekly@localhost" in page and "每星期一 08:00（Asia/Shanghai）" in page
    assert 'href="/admin/lists/rural-weekly">修改列表设置</a>' in page
    english = site.client.get("/admin/?lang=en").text
    assert "The sender is still weekly@localhost" in english and "on Monday at 08:00" in english

    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.sender_email, ml.postal_address, ml.schedule_enabled = "weekly@news.example.cn", "长沙市某路1号", False
    assert _notes(site.client.get("/admin/").text) == ["dash_note_manual"]


@pytest.mark.parametrize(
    ("sender", "deliverable"),
    [
        ("weekly@localhost", False),
        ("weekly@mail.example.com", False),
        ("weekly@newsroom.test", False),
        ("not an address", False),
        ("weekly@news.example.cn", True),
        ("周报@乡村振兴.中国", True),
    ],
)
def test_which_senders_a_mail_server_would_take(sender, deliverable):
    assert sender_is_deliverable(sender) is deliverable
