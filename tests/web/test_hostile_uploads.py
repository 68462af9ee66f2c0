"""Hostile uploads on every upload route: each bad row is named by line and field, the good rows are kept,
and nothing answers 500 (PostgreSQL refuses what SQLite would store: a NUL, a title over its column)."""

from __future__ import annotations

import json
import re

from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import func, select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

UPLOAD = "/admin/articles/upload"
IMPORT = "/admin/subscribers/import"


def _record(**changes) -> str:
    record = {"title": "稻田养蟹", "body": "稻田里养起了螃蟹。", "topic": "产业发展", "regions": ["辽宁盘锦"]}
    record |= {"published": "2026-11-18", **changes}
    return json.dumps(record, ensure_ascii=False)


def _upload(client, name: str, data: bytes):
    token = form_csrf(client.get(UPLOAD).text, UPLOAD)
    return client.post(UPLOAD, data={"csrf_token": token}, files={"file": (name, data, "application/octet-stream")})


def _import(client, data: bytes):
    token = form_csrf(client.get(IMPORT).text, IMPORT)
    return client.post(
        IMPORT, data={"csrf_token": token, "list": "rural-weekly"}, files={"file": ("people.csv", data, "text/csv")}
    )


def _problems(page: str) -> dict[int, str]:
    """Line → field of each problem row of the upload report."""
    return {int(n): f for n, f in re.findall(r'<td class="num">(\d+)</td><td>(\w*)</td>', page)}


def _titles(url: str) -> set[str]:
    with transaction(url) as session:
        return set(session.scalars(select(models.Article.title)))


def test_an_article_upload_keeps_its_good_lines_whatever_the_bad_ones_hold(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    client = site.client
    lines = [
        _record(title="超长标题" * 200),  # 800 characters: over the column
        _record(title="标题\u0000藏了空字符"),
        _record(title="付款\u202e说明"),  # a right-to-left override
        _record(source="新华社\n伪造的第二行"),
        '{"title": NaN, "body": "b"}',
        '{"a": ' + "[" * 50_000 + "]" * 50_000 + "}",
        _record(regions=["湖\u0000南"]),
        _record(title="稻田养蟹带动增收"),  # the one good line
    ]
    page = _upload(client, "week.jsonl", "\n".join(lines).encode())
    assert page.status_code == 200
    assert re.search(r'id="count-added">1<', page.text)
    assert _problems(page.text) == {1: "title", 2: "title", 3: "title", 4: "source", 5: "", 6: "", 7: "regions"}
    assert "稻田养蟹带动增收" in _titles(site.url)


def test_a_csv_article_upload_with_a_giant_cell_keeps_the_other_rows(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    header = "title,body,topic,regions,published\n"
    rows = f'巨型单元格,"{"字" * 200_000}",产业发展,湖南,2026-11-18\n=HYPERLINK("http://x"),公式单元格,产业发展,湖南,2026-11-18\n'
    page = _upload(site.client, "week.csv", (header + rows).encode())
    assert page.status_code == 200 and re.search(r'id="count-added">1<', page.text)
    assert 2 in _problems(page.text)
    # A formula is only text to us: stored as written, never evaluated (the export is what spreadsheets open).
    assert '=HYPERLINK("http://x")' in _titles(site.url)


def test_a_subscriber_import_with_control_giant_and_override_cells_keeps_the_good_rows(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    rows = (
        "email,name,regions,topics\n"
        "esc@example.org,李\u001b四,湖南,\n"  # an escape: a NUL makes the whole file binary (tested elsewhere)
        f'giant@example.org,"{"名" * 200_000}",湖南,\n'
        "rtl@example.org,王\u202e五,湖南,\n"
        "good@example.org,赵六,湖南,\n"
    )
    page = _import(site.client, rows.encode())
    assert page.status_code == 200
    assert re.search(r'id="count-added">1<', page.text)
    fields = dict(
        re.findall(
            r'<tr class="subs-problem error" data-line="(\d+)"><td class="num">\d+</td><td>(\w*)</td>', page.text
        )
    )
    assert fields.get("2") == "name" and fields.get("4") == "name" and "3" in fields
    with transaction(site.url) as session:
        emails = set(session.scalars(select(models.Subscriber.email)))
        assert session.scalar(select(func.count()).select_from(models.Subscriber)) == len(emails)
    assert "good@example.org" in emails and not {"esc@example.org", "giant@example.org", "rtl@example.org"} & emails
