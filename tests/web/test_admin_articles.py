"""Admin articles pages: find, upload with a report, edit and re-tag, hide; sanitising, escaping, CSRF."""

from __future__ import annotations

import html
import re
from pathlib import Path

from personas import SUN_EDITOR
from sqlalchemy import func, select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.articles import fingerprint

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
UPLOAD = FIXTURES / "admin-upload-week.txt"


def _editor(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    return site.client


def _article(url, title):
    with transaction(url) as session:
        row = session.scalar(select(models.Article).where(models.Article.title == title))
        return row and {
            "id": row.id,
            "title": row.title,
            "body": row.body_html,
            "label": row.region_label,
            "hidden": row.hidden,
            "codes": sorted(r.region_code for r in row.regions),
            "topic": row.topic.slug,
            "fingerprint": row.fingerprint,
        }


def _count(url) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(models.Article))


def _upload(client, name, data: bytes, **fields):
    page = client.get("/admin/articles/upload")
    token = form_csrf(page.text, "/admin/articles/upload")
    return client.post(
        "/admin/articles/upload",
        data={"csrf_token": token, **fields},
        files={"file": (name, data, "application/octet-stream")},
    )


def _edit(client, article_id, **changes):
    page = client.get(f"/admin/articles/{article_id}")
    form = {
        k: v
        for k, v in re.findall(
            r'<input type="(?:text|url|datetime-local)" id="a-\w+" name="(\w+)" value="([^"]*)"', page.text
        )
    }
    form["body"] = re.search(r'<textarea id="a-body" name="body"[^>]*>(.*?)</textarea>', page.text, re.DOTALL).group(1)
    form["topic"] = re.search(r'<option value="([\w-]+)" selected>', page.text).group(1)
    form = {k: html.unescape(v) for k, v in form.items()}
    form.update(changes, csrf_token=form_csrf(page.text, f"/admin/articles/{article_id}"))
    return client.post(f"/admin/articles/{article_id}", data=form)


def test_a_stranger_is_sent_to_sign_in(site):
    response = site.client.get("/admin/articles?region=湖南", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login?next=/admin/articles")


def test_an_editor_filters_articles_by_region_topic_text_and_week(site):
    client = _editor(site)
    page = client.get("/admin/articles")
    assert page.status_code == 200 and "共 16 篇" in page.text
    page = client.get("/admin/articles", params={"region": "湖南", "topic": "industry"})
    titles = re.findall(r'<a href="/admin/articles/\d+">([^<]+)</a>', page.text)
    assert sorted(titles) == ["沅陵县创办全国首家乡村振兴金融服务组织", "金银花产业带动山区农户增收"]
    assert "湖南省怀化市" in page.text and "湖南省邵阳市隆回县" in page.text  # resolved names beside the label
    assert "共 1 篇" in client.get("/admin/articles", params={"q": "金银花"}).text
    assert "共 16 篇" in client.get("/admin/articles", params={"week": "2026-11-22"}).text
    assert "共 0 篇" in client.get("/admin/articles", params={"week": "2026-12-06"}).text


def test_the_article_list_is_paginated(site):
    from digest.core.regions import load_regions
    from digest.services.article_editing import add_articles
    from digest.services.lists import ensure_default_list

    records = [
        {
            "title": f"第{i}篇",
            "body": f"正文{i}",
            "topic": "industry",
            "regions": ["浙江"],
            "published": f"2026-10-{i:02d}",
        }
        for i in range(1, 21)
    ]
    with transaction(site.url) as session:
        add_articles(session, ensure_default_list(session), records, load_regions())
    client = _editor(site)
    first = client.get("/admin/articles")
    assert "共 36 篇" in first.text and "第 1 / 2 页" in first.text and "page=2" in first.text
    assert len(re.findall(r'<a href="/admin/articles/\d+">', first.text)) == 25
    second = client.get("/admin/articles", params={"page": 2})
    assert len(re.findall(r'<a href="/admin/articles/\d+">', second.text)) == 11 and "第1篇" in second.text


def test_bad_filters_name_the_field_and_never_fail(site):
    client = _editor(site)
    page = client.get("/admin/articles", params={"region": "火星基地", "week": "2026-13-01"})
    assert page.status_code == 400
    assert "无法识别的地区：火星基地" in page.text and "“2026-13-01”不是有效日期" in page.text
    for params in ({"page": "0"}, {"page": "x"}, {"hidden": "maybe"}, {"list": "no-such-list"}, {"q": "x" * 500}):
        assert client.get("/admin/articles", params=params).status_code in (400, 404), params


def test_upload_a_newsletter_reports_each_problem_and_keeps_the_good_articles(site):
    client = _editor(site)
    before = _count(site.url)
    page = _upload(client, "admin-upload-week.txt", UPLOAD.read_bytes(), published="2026-11-19")
    assert page.status_code == 200
    assert re.search(r'id="count-added">4<', page.text) and re.search(r'id="count-rejected">1<', page.text)
    problem = re.search(
        r'<tr class="problem error"><td>admin-upload-week.txt</td><td class="num">21</td><td>regions</td>', page.text
    )
    assert problem, page.text
    # In the file's order, and one row for one refused label (not that label, then "no known region").
    lines = [
        int(n)
        for n in re.findall(r'<tr class="problem \w+"><td>admin-upload-week.txt</td><td class="num">(\d+)', page.text)
    ]
    assert lines == sorted(lines) and lines.count(21) == 1, lines
    assert _count(site.url) == before + 4
    row = _article(site.url, "红枣合作社试水直播带货")
    assert row["codes"] == ["620723"] and row["topic"] == "industry"
    assert _article(site.url, "这一条的地区无法识别") is None
    again = _upload(client, "admin-upload-week.txt", UPLOAD.read_bytes())
    assert re.search(r'id="count-added">0<', again.text) and re.search(r'id="count-unchanged">4<', again.text)
    assert _count(site.url) == before + 4


def test_upload_json_lines_names_line_and_field_and_refuses_binary(site):
    client = _editor(site)
    before = _count(site.url)
    jsonl = (
        '{"title": "稻田养蟹", "body": "稻田里养起了螃蟹。", "topic": "产业发展", '
        '"regions": ["辽宁盘锦"], "published": "2026-11-18"}\n'
        '{"title": "缺日期", "body": "正文", "topic": "产业发展", "regions": "全国", "published": "昨天"}\n'
    ).encode()
    page = _upload(client, "batch.jsonl", jsonl)
    assert re.search(r'id="count-added">1<', page.text)
    assert re.search(r"<td>batch.jsonl</td><td class=\"num\">2</td><td>published</td>", page.text)
    binary = _upload(client, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00")
    assert binary.status_code == 400 and "无法读取该文件" in binary.text and "photo.csv" in binary.text
    missing = _upload(client, "", b"")
    assert missing.status_code in (400, 422)
    bad_date = _upload(client, "batch.jsonl", jsonl, published="2026-99-01")
    assert bad_date.status_code == 400 and "2026-99-01" in bad_date.text
    assert _count(site.url) == before + 1


def test_an_editor_retags_renames_and_moves_an_article(site):
    client = _editor(site)
    row = _article(site.url, "金银花产业带动山区农户增收")
    page = _edit(
        client, row["id"], title="金银花产业带动山区农户持续增收", regions="甘肃临泽、全国", topic="governance"
    )
    assert page.status_code == 200 and "已保存" in page.text
    after = _article(site.url, "金银花产业带动山区农户持续增收")
    assert (
        after["codes"] == ["000000", "620723"] and after["label"] == "甘肃临泽、全国" and after["topic"] == "governance"
    )
    assert after["fingerprint"] == fingerprint(after["title"], after["body"]) != row["fingerprint"]
    warned = _edit(client, row["id"], regions="江苏沐阳")
    assert "地区提示" in warned.text and "沭阳" in warned.text
    assert _article(site.url, "金银花产业带动山区农户持续增收")["codes"] == ["321322"]


def test_an_unknown_region_or_a_duplicate_saves_nothing(site):
    client = _editor(site)
    row = _article(site.url, "金银花产业带动山区农户增收")
    page = _edit(client, row["id"], title="不该保存的标题", regions="湖南、火星基地")
    assert page.status_code == 400 and "无法识别的地区：火星基地" in page.text and 'id="error-regions"' in page.text
    assert 'value="不该保存的标题"' in page.text  # what was typed is kept on the form
    assert _article(site.url, "金银花产业带动山区农户增收") == row
    other = _article(site.url, "“兴农贷”助推乡村振兴")
    clash = _edit(client, row["id"], title=other["title"], body=other["body"])
    assert clash.status_code == 400 and f"第 {other['id']} 篇文章" in clash.text
    assert _article(site.url, "金银花产业带动山区农户增收") == row


def test_hide_and_show_an_article(site):
    client = _editor(site)
    row = _article(site.url, "金银花产业带动山区农户增收")
    page = client.get(f"/admin/articles/{row['id']}")
    token = form_csrf(page.text, f"/admin/articles/{row['id']}/visibility")
    response = client.post(f"/admin/articles/{row['id']}/visibility", data={"csrf_token": token, "hidden": "1"})
    assert response.status_code == 200 and "文章已隐藏" in response.text
    assert _article(site.url, row["title"])["hidden"] is True
    listing = client.get("/admin/articles", params={"hidden": "hidden"})
    assert "共 1 篇" in listing.text and 'class="badge hidden"' in listing.text
    token = form_csrf(response.text, f"/admin/articles/{row['id']}/visibility")
    client.post(f"/admin/articles/{row['id']}/visibility", data={"csrf_token": token, "hidden": "0"})
    assert _article(site.url, row["title"])["hidden"] is False


def test_unsafe_body_html_is_sanitised_in_preview_and_storage_and_titles_are_escaped(site):
    client = _editor(site)
    row = _article(site.url, "金银花产业带动山区农户增收")
    evil = (
        '<p>正文<script>alert("s")</script><img src="x" onerror="alert(1)">'
        '<a href="javascript:alert(2)">链接</a><a href="https://example.org/ok" onclick="alert(3)">好链接</a></p>'
    )
    preview = _edit(client, row["id"], body=evil, action="preview")
    shown = re.search(r'<article class="article-preview" id="preview">(.*?)</article>', preview.text, re.DOTALL).group(
        1
    )
    for bad in ("<script", "onerror", "javascript:", "onclick", 'alert("s")'):
        assert bad not in shown, bad
    assert 'href="https://example.org/ok"' in shown
    assert _article(site.url, row["title"]) == row  # a preview saves nothing
    title = "<img src=x onerror=alert(9)>标题"
    saved = _edit(client, row["id"], body=evil, title=title)
    assert saved.status_code == 200
    stored = _article(site.url, title)
    for bad in ("<script", "onerror", "javascript:", "onclick"):
        assert bad not in stored["body"], bad
    listing = client.get("/admin/articles", params={"q": "标题"})
    for text in (listing.text, saved.text):
        assert "<img src=x onerror" not in text and "&lt;img src=x onerror=alert(9)&gt;标题" in text


def test_posts_without_csrf_are_refused_and_change_nothing(site):
    client = _editor(site)
    row = _article(site.url, "金银花产业带动山区农户增收")
    before = _count(site.url)
    edit = client.post(f"/admin/articles/{row['id']}", data={"title": "被篡改", "regions": "全国", "topic": "macro"})
    hide = client.post(f"/admin/articles/{row['id']}/visibility", data={"hidden": "1", "csrf_token": "forged"})
    upload = client.post("/admin/articles/upload", files={"file": ("a.txt", UPLOAD.read_bytes(), "text/plain")})
    assert edit.status_code == hide.status_code == upload.status_code == 403
    assert _article(site.url, row["title"]) == row and _count(site.url) == before


def test_missing_and_absurd_article_ids_never_fail(site):
    client = _editor(site)
    assert client.get("/admin/articles/999999").status_code == 404
    for bad in ("0", "-1", "abc", str(2**63), "1e9"):
        assert client.get(f"/admin/articles/{bad}").status_code in (400, 404), bad


def test_an_uploaded_newsletters_footer_fills_what_the_list_lacks_and_names_what_it_does_not(site):
    from digest.services.lists import ensure_default_list

    own = [["制作", "本刊编辑部"]]
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.credits, ml.contact_email, ml.postal_address = own, None, None
    client = _editor(site)
    issue = FIXTURES / "weekly-issue-2021-06.txt"
    page = _upload(client, "weekly-issue-2021-06.txt", issue.read_bytes(), published="2021-06-18")
    assert page.status_code == 200
    applied = re.search(r'id="footer-applied" role="status">([^<]*)<', page.text).group(1)
    differs = re.search(r'id="footer-differs" role="status">([^<]*)<', page.text).group(1)
    assert applied == "文件末尾的联系邮箱、地址已填入本列表（列表原先没有）。"
    assert differs.startswith("文件末尾的制作信息与本列表的设置不同，未采用")
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        assert (ml.credits, ml.contact_email) == (own, "weekly@example.org")
        assert ml.postal_address == "北京市海淀区示例路 8 号院 B 座 301 室"
    # The same file again, in English: the list now has an address; only the credits still differ.
    token = form_csrf(client.get("/admin/articles/upload").text, "/admin/articles/upload")
    english = client.post(
        "/admin/articles/upload?lang=en",
        data={"csrf_token": token},
        files={"file": ("weekly-issue-2021-06.txt", issue.read_bytes(), "text/plain")},
    )
    assert 'id="footer-applied"' not in english.text
    assert "The file&#39;s credits differ from this list&#39;s; not applied." in english.text
