"""The console's sources page: editors add, poll, pause, resume and remove a list's feeds through the real forms
(CSRF included); only admins may let a source reach private addresses (both databases)."""

from __future__ import annotations

from feedserver import Route, feed_server, rss
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

ITEMS = [{"title": "怀化柑橘丰收", "guid": "n-1", "description": "<p>丰收。</p>"}]


def _signed_in(site, staff):
    add_staff(site.url, staff)
    client = site.new_client()
    assert sign_in(client, staff).status_code == 303
    return client


def _sources(url):
    with transaction(url) as session:
        rows = session.scalars(select(models.Source).order_by(models.Source.id))
        return [(s.url, s.topic_slug, s.region_codes, s.allow_private, s.paused) for s in rows]


def test_an_editor_adds_a_source_but_may_not_allow_private_addresses(site):
    client = _signed_in(site, SUN_EDITOR)
    page = client.get("/admin/sources")
    assert page.status_code == 200 and "allow_private" not in page.text and "/admin/sources" in page.text
    token = form_csrf(page.text, "/admin/sources")
    form = {
        "list": "rural-weekly",
        "url": "http://127.0.0.1:9/feed.xml",
        "topic": "industry",
        "regions": "湖南,怀化",
        "interval": "30",
        "csrf_token": token,
    }
    refused = client.post("/admin/sources", data={**form, "allow_private": "1"})
    assert refused.status_code == 400 and "只有管理员可以允许内网地址" in refused.text
    bad = client.post("/admin/sources", data={**form, "url": "file:///etc/passwd"})
    assert bad.status_code == 400 and "only http and https" in bad.text
    assert _sources(site.url) == []
    added = client.post("/admin/sources", data=form, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/admin/sources?list=rural-weekly&done=added"
    assert _sources(site.url) == [("http://127.0.0.1:9/feed.xml", "industry", ["430000", "431200"], False, False)]
    assert client.post("/admin/sources", data={**form, "csrf_token": "forged"}).status_code == 403


def test_an_admin_allows_a_loopback_feed_and_polls_pauses_resumes_removes_it(site):
    client = _signed_in(site, ZHOU_ADMIN)
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        page = client.get("/admin/sources")
        assert 'name="allow_private"' in page.text
        form = {
            "list": "rural-weekly",
            "url": server.url("/rss.xml"),
            "topic": "industry",
            "regions": "湖南",
            "interval": "60",
            "allow_private": "1",
            "csrf_token": form_csrf(page.text, "/admin/sources"),
        }
        assert client.post("/admin/sources", data=form, follow_redirects=False).status_code == 303
        with transaction(site.url) as session:
            source_id = session.scalar(select(models.Source.id))
        listed = client.get("/admin/sources")
        action = f"/admin/sources/{source_id}/poll"
        polled = client.post(action, data={"csrf_token": form_csrf(listed.text, action)})
    assert polled.status_code == 200 and 'id="src-notice"' in polled.text and "三农新闻" in polled.text
    assert "已抓取：新增 1，更新 0，未变 0，错误 0。" in polled.text
    with transaction(site.url) as session:
        fed = session.scalars(select(models.Article.title).where(models.Article.source_id == source_id)).all()
    assert fed == ["怀化柑橘丰收"]
    for action, paused in (("pause", True), ("resume", False)):
        path = f"/admin/sources/{source_id}/{action}"
        page = client.get("/admin/sources")
        assert client.post(path, data={"csrf_token": form_csrf(page.text, path)}).status_code == 200
        assert _sources(site.url)[0][4] is paused
    path = f"/admin/sources/{source_id}/remove"
    page = client.get("/admin/sources")
    assert client.post(path, data={"csrf_token": form_csrf(page.text, path)}).status_code == 200
    assert _sources(site.url) == []
