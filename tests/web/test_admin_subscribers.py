"""Admin subscribers pages: find and filter, edit all-or-nothing, CSV import and export, suppressions; admins only."""

from __future__ import annotations

import csv
import io
import re

from personas import (
    ALL,
    LI_HUNAN,
    LIU_TOPICS,
    SUN_EDITOR,
    WANG_NATIONAL,
    ZHAO_NOTHING,
    ZHOU_ADMIN,
)
from sqlalchemy import func, select
from webutil import PERIOD_END, add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.regions import load_regions
from digest.services.delivery.batches import send_pending
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribers import upsert_subscription

REGIONS = load_regions()
IMPORT = "/admin/subscribers/import"
XSS_NAMES = ("<script>alert(1)</script>", '" onmouseover="alert(2)')


def _admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    return site.client


def _people(url, personas=ALL, status="confirmed") -> dict[str, int]:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        for p in personas:
            upsert_subscription(
                session,
                ml,
                REGIONS,
                email=p.email,
                name=p.name,
                region_labels=p.regions,
                topic_labels=p.topics,
                status=status,
            )
        return dict(session.execute(select(models.Subscriber.email, models.Subscriber.id)).all())


def _state(url, email: str) -> dict | None:
    with transaction(url) as session:
        row = session.execute(
            select(models.Subscriber, models.Subscription)
            .join(models.Subscription)
            .where(models.Subscriber.email == email)
        ).first()
        if row is None:
            return None
        person, sub = row
        return {
            "name": person.name,
            "status": sub.status,
            "regions": list(sub.region_codes),
            "topics": list(sub.topic_slugs),
            "time_zone": person.time_zone,
            "locale": person.locale,
        }


def _listed(html: str) -> set[str]:
    return set(
        re.findall(r'<td class="subs-email"><a href="/admin/subscribers/\d+\?list=rural-weekly">([^<]+)</a>', html)
    )


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_stranger_is_sent_to_sign_in_and_an_editor_is_refused_everywhere(site):
    ids = _people(site.url, [LI_HUNAN])
    response = site.client.get("/admin/subscribers?region=湖南", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith(
        "/admin/login?next=/admin/subscribers"
    )
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    sid = ids[LI_HUNAN.email]
    for path in (
        "/admin/subscribers",
        f"/admin/subscribers/{sid}",
        IMPORT,
        "/admin/subscribers/export.csv",
        "/admin/suppressions",
    ):
        page = site.client.get(path)
        assert page.status_code == 403 and LI_HUNAN.email not in page.text, path
    with transaction(site.url) as session:
        session.add(models.Suppression(email="kept@example.org", reason="bounce"))
    with transaction(site.url) as session:
        row_id = session.scalar(select(models.Suppression.id))
    dashboard = site.client.get("/admin/articles")  # a page she may open: it holds a valid CSRF cookie
    token = form_csrf(dashboard.text, "/admin/logout")
    posts = [
        site.client.post(
            f"/admin/subscribers/{sid}", data={"name": "改", "status": "unsubscribed", "csrf_token": token}
        ),
        site.client.post(
            IMPORT, data={"csrf_token": token}, files={"file": ("a.csv", b"email\nx@example.org\n", "text/csv")}
        ),
        site.client.post("/admin/suppressions", data={"email": LI_HUNAN.email, "reason": "x", "csrf_token": token}),
        site.client.post(f"/admin/suppressions/{row_id}/delete", data={"csrf_token": token}),
    ]
    assert [p.status_code for p in posts] == [403, 403, 403, 403]
    assert _state(site.url, LI_HUNAN.email)["status"] == "confirmed" and _state(site.url, "x@example.org") is None
    with transaction(site.url) as session:
        assert session.scalars(select(models.Suppression.email)).all() == ["kept@example.org"]


def test_the_list_filters_by_region_topic_status_and_text(site):
    _people(site.url)
    client = _admin(site)
    page = client.get("/admin/subscribers")
    assert page.status_code == 200 and _listed(page.text) == {p.email for p in ALL}
    assert "共 6 位订阅者符合条件" in page.text
    assert client.get("/admin/subscribers", params={"region": "湖南"}).status_code == 200
    assert _listed(client.get("/admin/subscribers", params={"region": "湖南"}).text) == {
        LI_HUNAN.email,
        LIU_TOPICS.email,
    }
    assert _listed(client.get("/admin/subscribers", params={"region": "怀化"}).text) == {
        LI_HUNAN.email,
        LIU_TOPICS.email,
    }
    assert _listed(client.get("/admin/subscribers", params={"region": "全国"}).text) == {
        WANG_NATIONAL.email,
        LIU_TOPICS.email,
    }
    assert _listed(client.get("/admin/subscribers", params={"topic": "living-environment", "q": "zhao"}).text) == {
        ZHAO_NOTHING.email
    }
    assert _listed(client.get("/admin/subscribers", params={"q": "王芳"}).text) == {WANG_NATIONAL.email}
    assert _listed(client.get("/admin/subscribers", params={"status": "pending"}).text) == set()
    row = re.search(r'<tr data-id="\d+">.*?li\.wei@example\.cn.*?</tr>', page.text, flags=re.DOTALL).group(0)
    assert '<span class="badge confirmed">已订阅</span>' in row and '">湖南</td>' in row and '">全部栏目</td>' in row
    assert re.search(r'<td class="nowrap" data-label="加入日期">\d{4}-\d{2}-\d{2}</td>', row) and "李伟" in row
    liu = re.search(r'<tr data-id="\d+">.*?liu\.yang@example\.cn.*?</tr>', page.text, flags=re.DOTALL).group(0)
    assert '">产业发展、公共服务</td>' in liu and '">全部地区</td>' in liu


def test_bad_filters_name_the_field_and_never_fail(site):
    client = _admin(site)
    page = client.get("/admin/subscribers", params={"region": "火星", "topic": "天文"})
    assert page.status_code == 400
    assert 'id="error-region"' in page.text and "无法识别地区“火星”" in page.text and 'id="error-topic"' in page.text
    for params in ({"page": "0"}, {"page": "abc"}, {"status": "asleep"}, {"q": "x" * 500}, {"list": "nope"}):
        assert client.get("/admin/subscribers", params=params).status_code in (400, 404), params
    warned = client.get("/admin/subscribers", params={"region": "朝阳"})
    assert warned.status_code == 200 and "地区筛选按推测理解" in warned.text


def _pending_readers(site, count: int = 120):
    """`count` pending readers, r000@ the oldest; a signed-in admin's client."""
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i in range(count):
            upsert_subscription(session, ml, REGIONS, email=f"r{i:03}@example.org", status="pending")
    return _admin(site)


def test_the_list_is_paginated_fifty_a_page(site):
    client = _pending_readers(site)
    pages = [client.get("/admin/subscribers", params={"status": "pending", "page": n}) for n in (1, 2, 3, 4)]
    found = [_listed(p.text) for p in pages]
    assert [len(f) for f in found] == [50, 50, 20, 0]
    assert set().union(*found) == {f"r{i:03}@example.org" for i in range(120)}
    assert "r119@example.org" in found[0]  # newest first
    assert "第 1 / 3 页" in pages[0].text and 'rel="next"' in pages[0].text and 'rel="next"' not in pages[2].text


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', html)
    return found.group(1).replace("&amp;", "&") if found else None


def test_pages_follow_cursors_forward_and_back_and_old_page_links_still_answer(site):
    client = _pending_readers(site)
    pages, link = [], "/admin/subscribers?status=pending"
    while link:
        pages.append(client.get(link))
        link = _link(pages[-1].text, "next")
    assert [len(_listed(p.text)) for p in pages] == [50, 50, 20]
    assert "before=" in _link(pages[1].text, "prev") and "after=" in _link(pages[0].text, "next")
    assert "第 3 / 3 页" in pages[2].text
    back = client.get(_link(pages[2].text, "prev"))
    assert _listed(back.text) == _listed(pages[1].text) and "第 2 / 3 页" in back.text
    assert _listed(client.get(_link(back.text, "prev")).text) == _listed(pages[0].text)
    old = client.get("/admin/subscribers", params={"status": "pending", "page": 2})
    assert _listed(old.text) == _listed(pages[1].text)


def test_an_admin_edits_name_status_picks_zone_and_language(site):
    sid = _people(site.url, [LI_HUNAN])[LI_HUNAN.email]
    client = _admin(site)
    edit = client.get(f"/admin/subscribers/{sid}")
    assert edit.status_code == 200 and 'value="湖南"' in edit.text
    form = {
        "csrf_token": form_csrf(edit.text, f"/admin/subscribers/{sid}"),
        "list": "rural-weekly",
        "name": "李伟（县里）",
        "status": "unsubscribed",
        "regions": "湖南, 临泽",
        "topic": ["public-services", "industry"],
        "time_zone": "Europe/Berlin",
        "locale": "en",
    }
    saved = client.post(f"/admin/subscribers/{sid}", data=form, follow_redirects=False)
    assert (
        saved.status_code == 303 and saved.headers["location"] == f"/admin/subscribers/{sid}?list=rural-weekly&saved=1"
    )
    assert _state(site.url, LI_HUNAN.email) == {
        "name": "李伟（县里）",
        "status": "unsubscribed",
        "regions": ["430000", "620723"],
        "topics": ["industry", "public-services"],
        "time_zone": "Europe/Berlin",
        "locale": "en",
    }
    shown = client.get(saved.headers["location"])
    assert "已保存。" in shown.text and 'value="湖南, 甘肃临泽"' in shown.text
    # A near miss is saved with its reading shown.
    form["regions"] = "江苏沐阳"
    warned = client.post(f"/admin/subscribers/{sid}", data=form)
    assert warned.status_code == 200 and "请核对地区" in warned.text and "沭阳县" in warned.text
    assert _state(site.url, LI_HUNAN.email)["regions"] == ["321322"]


def test_an_unknown_region_names_the_field_and_saves_nothing(site):
    sid = _people(site.url, [LI_HUNAN])[LI_HUNAN.email]
    client = _admin(site)
    edit = client.get(f"/admin/subscribers/{sid}")
    before = _state(site.url, LI_HUNAN.email)
    form = {
        "csrf_token": form_csrf(edit.text, f"/admin/subscribers/{sid}"),
        "list": "rural-weekly",
        "name": "改名",
        "status": "unsubscribed",
        "regions": "湖南, 火星",
        "topic": ["industry"],
        "time_zone": "Asia/Shanghai",
        "locale": "zh-CN",
    }
    refused = client.post(f"/admin/subscribers/{sid}", data=form)
    assert refused.status_code == 400 and 'id="error-regions"' in refused.text and "无法识别地区“火星”" in refused.text
    assert 'value="湖南, 火星"' in refused.text and 'value="改名"' in refused.text  # what was typed is kept
    assert _state(site.url, LI_HUNAN.email) == before
    form.update(regions="湖南", time_zone="Mars/Olympus", topic=["astronomy"])
    refused = client.post(f"/admin/subscribers/{sid}", data=form)
    assert refused.status_code == 400 and 'id="error-time_zone"' in refused.text and 'id="error-topics"' in refused.text
    assert _state(site.url, LI_HUNAN.email) == before
    assert client.get("/admin/subscribers/999999").status_code == 404
    for bad in ("0", "-1", "abc", str(2**63)):
        assert client.get(f"/admin/subscribers/{bad}").status_code in (400, 404), bad


CSV_TEXT = (
    "email,name,regions,topics\n"
    "good.one@example.org,好一,湖南,产业发展\n"
    "not-an-email,坏地址,湖南,\n"
    'good.two@example.org,好二,"怀化, 全国",\n'
    "mars@example.org,火星人,火星,\n"
    "topic@example.org,栏目错,湖南,天文学\n"
)


def test_import_reports_bad_lines_and_keeps_good_rows_confirmed_by_default(site):
    client = _admin(site)
    form = client.get(IMPORT)
    assert re.search(r'name="confirmed" value="1" id="i-confirmed" checked', form.text)  # as the CLI does
    report = client.post(
        IMPORT,
        data={"csrf_token": form_csrf(form.text, IMPORT), "list": "rural-weekly", "confirmed": "1"},
        files={"file": ("people.csv", CSV_TEXT.encode(), "text/csv")},
    )
    assert report.status_code == 200
    assert re.search(r'id="count-added">2<', report.text) and re.search(r'id="count-rejected">3<', report.text)
    lines = {
        int(n): field
        for n, field in re.findall(
            r'<tr class="subs-problem error" data-line="(\d+)"><td class="num">\d+</td><td>(\w+)</td>', report.text
        )
    }
    assert lines == {3: "email", 5: "regions", 6: "topics"}
    assert "火星" in report.text and "天文学" in report.text
    assert _state(site.url, "good.one@example.org")["status"] == "confirmed"
    assert _state(site.url, "good.two@example.org")["regions"] == ["431200", "000000"]
    assert _state(site.url, "mars@example.org") is None and _state(site.url, "topic@example.org") is None
    # Again, unticked: new rows wait for their confirmation; known ones are updated.
    again = client.post(
        IMPORT,
        data={"csrf_token": form_csrf(report.text, IMPORT), "list": "rural-weekly"},
        files={"file": ("more.csv", b"\xef\xbb\xbfemail,name\nnew@example.org,\ngood.one@example.org,\n", "text/csv")},
    )
    assert re.search(r'id="count-added">1<', again.text) and re.search(r'id="count-updated">1<', again.text)
    assert _state(site.url, "new@example.org")["status"] == "pending"


def test_import_refuses_what_is_not_a_csv_text(site):
    client = _admin(site)
    token = form_csrf(client.get(IMPORT).text, IMPORT)
    binary = client.post(
        IMPORT, data={"csrf_token": token}, files={"file": ("x.csv", b"email\n\xff\xfe\x00bad", "text/csv")}
    )
    assert binary.status_code == 400 and 'id="error-file"' in binary.text and "UTF-8" in binary.text
    missing = client.post(IMPORT, data={"csrf_token": token})
    assert missing.status_code == 400 and 'id="error-file"' in missing.text
    no_email = client.post(
        IMPORT, data={"csrf_token": token}, files={"file": ("x.csv", "name\n甲\n".encode(), "text/csv")}
    )
    assert no_email.status_code == 200 and "表头没有 email 列" in no_email.text
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Subscriber)) == 0


def test_the_export_is_an_attachment_with_formulas_defused(site):
    client = _admin(site)
    _people(site.url, [LI_HUNAN, WANG_NATIONAL])
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i, name in enumerate(("=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1")):
            upsert_subscription(session, ml, REGIONS, email=f"f{i}@example.org", name=name, status="confirmed")
    response = client.get("/admin/subscribers/export.csv")
    assert response.status_code == 200 and response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="subscribers-rural-weekly-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["content-disposition"],
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = {r["email"]: r["name"] for r in rows}
    assert names["f0@example.org"] == "'=cmd|' /C calc'!A0" and names["f1@example.org"] == "'+1+1"
    assert (
        names["f2@example.org"] == "'-2+3"
        and names["f3@example.org"] == "'@SUM(A1)"
        and names["f4@example.org"] == "'=1"
    )  # names are stripped first
    assert all(not v or v[0] not in "=+-@\t\r" for r in rows for v in r.values())
    assert {r["email"]: r["regions"] for r in rows}[LI_HUNAN.email] == "湖南"
    filtered = client.get("/admin/subscribers/export.csv", params={"region": "湖南"})
    exported = {r["email"] for r in csv.DictReader(io.StringIO(filtered.content.decode("utf-8-sig")))}
    assert exported == {LI_HUNAN.email} | {f"f{i}@example.org" for i in range(5)}  # no region picked: every region
    assert client.get("/admin/subscribers/export.csv", params={"region": "火星"}).status_code == 400


def test_names_are_escaped_on_the_list_and_edit_pages(site):
    client = _admin(site)
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i, name in enumerate(XSS_NAMES):
            upsert_subscription(session, ml, REGIONS, email=f"x{i}@example.org", name=name)
        ids = dict(session.execute(select(models.Subscriber.email, models.Subscriber.id)).all())
    pages = [
        client.get("/admin/subscribers"),
        client.get(f"/admin/subscribers/{ids['x0@example.org']}"),
        client.get(f"/admin/subscribers/{ids['x1@example.org']}"),
        client.get("/admin/subscribers", params={"q": "<script>"}),
    ]
    for page in pages:
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text and '" onmouseover="alert(2)' not in page.text
    assert (
        "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0].text and "&#34; onmouseover=&#34;alert(2)" in pages[0].text
    )
    assert 'value="&#34; onmouseover=&#34;alert(2)"' in pages[2].text
    assert 'value="&lt;script&gt;"' in pages[3].text


def test_posts_without_csrf_are_refused_and_change_nothing(site):
    sid = _people(site.url, [LI_HUNAN])[LI_HUNAN.email]
    client = _admin(site)
    before = _state(site.url, LI_HUNAN.email)
    edit = client.post(
        f"/admin/subscribers/{sid}", data={"name": "被篡改", "status": "unsubscribed", "regions": "全国"}
    )
    forged = client.post(
        f"/admin/subscribers/{sid}", data={"name": "被篡改", "status": "unsubscribed", "csrf_token": "forged"}
    )
    other_scope = form_csrf(client.get("/admin/suppressions").text, "/admin/suppressions")
    cross = client.post(
        f"/admin/subscribers/{sid}", data={"name": "被篡改", "status": "unsubscribed", "csrf_token": other_scope}
    )
    upload = client.post(IMPORT, files={"file": ("a.csv", b"email\nsneaky@example.org\n", "text/csv")})
    suppress = client.post("/admin/suppressions", data={"email": LI_HUNAN.email, "reason": "x"})
    assert [r.status_code for r in (edit, forged, cross, upload, suppress)] == [403] * 5
    assert _state(site.url, LI_HUNAN.email) == before and _state(site.url, "sneaky@example.org") is None
    with transaction(site.url) as session:
        session.add(models.Suppression(email="kept@example.org", reason="bounce"))
    with transaction(site.url) as session:
        row_id = session.scalar(select(models.Suppression.id))
    assert client.post(f"/admin/suppressions/{row_id}/delete", data={}).status_code == 403
    with transaction(site.url) as session:
        assert session.scalars(select(models.Suppression.email)).all() == ["kept@example.org"]


def _send_issue(site) -> list[str]:
    with transaction(site.url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with open_transport(site.settings.smtp_url, site.settings.outbox) as transport:
        send_pending(Runtime(site.settings), issue_id, transport)
    return [r for m in site.smtp.messages for r in m.rcpt_tos]


def test_suppressed_addresses_are_listed_searched_removed_and_never_sent_to(site):
    _people(site.url, [LI_HUNAN, WANG_NATIONAL])
    client = _admin(site)
    page = client.get("/admin/suppressions")
    token = form_csrf(page.text, "/admin/suppressions")
    bad = client.post("/admin/suppressions", data={"email": "nope", "reason": "", "csrf_token": token})
    assert bad.status_code == 400 and 'id="error-email"' in bad.text and 'id="error-reason"' in bad.text
    added = client.post(
        "/admin/suppressions", data={"email": " LI.WEI@Example.CN ", "reason": "硬退信 550", "csrf_token": token}
    )
    assert added.status_code == 200 and "已加入屏蔽名单" in added.text  # after the redirect
    client.post("/admin/suppressions", data={"email": "other@example.org", "reason": "投诉", "csrf_token": token})
    found = client.get("/admin/suppressions", params={"q": "退信"})
    assert re.findall(r'<td class="subs-email">([^<]+)</td>', found.text) == [LI_HUNAN.email]
    listing = client.get("/admin/subscribers")
    assert re.search(r"li\.wei@example\.cn</a>\s*<span class=\"badge subs-suppressed\">已屏蔽</span>", listing.text)
    assert _send_issue(site) == [WANG_NATIONAL.email]
    with transaction(site.url) as session:
        row_id = session.scalar(select(models.Suppression.id).where(models.Suppression.email == "other@example.org"))
    page = client.get("/admin/suppressions")
    removed = client.post(
        f"/admin/suppressions/{row_id}/delete",
        data={"csrf_token": form_csrf(page.text, f"/admin/suppressions/{row_id}/delete")},
    )
    assert removed.status_code == 200 and "已移出屏蔽名单" in removed.text
    with transaction(site.url) as session:
        assert session.scalars(select(models.Suppression.email)).all() == [LI_HUNAN.email]
    assert client.post("/admin/suppressions/999999/delete", data={"csrf_token": token}).status_code in (403, 404)


def test_every_page_reads_in_english(site):
    sid = _people(site.url, [LI_HUNAN])[LI_HUNAN.email]
    client = _admin(site)
    expected = {
        "/admin/subscribers": "Matching subscribers: 1",
        f"/admin/subscribers/{sid}": "Edit subscriber",
        IMPORT: "Mark rows without a status as confirmed",
        "/admin/suppressions": "Addresses: 0",
    }
    for path, words in expected.items():
        page = client.get(path, params={"lang": "en"})
        assert page.status_code == 200 and words in page.text, path
        assert "订阅" not in _text(page.text).replace("乡村振兴周报", ""), path
