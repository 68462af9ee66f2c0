"""/api/v1/sources: editors add, test, poll, pause, resume and remove a list's feeds; only admins may let a
source reach private addresses (both databases, feeds from a loopback server)."""

from __future__ import annotations

from feedserver import Route, feed_server, rss
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

ITEMS = [{"title": "怀化柑橘丰收", "guid": "n-1", "description": "<p>丰收。</p>"}]


def _auth(site, staff) -> dict:
    add_staff(site.url, staff)
    return {"Authorization": f"Bearer {api_token(site.url, staff)}"}


def test_an_editor_adds_polls_pauses_resumes_and_removes_a_source(site):
    editor, admin = _auth(site, SUN_EDITOR), _auth(site, ZHOU_ADMIN)
    client = site.client
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        refused = client.post(
            "/api/v1/sources", json={"url": server.url("/rss.xml"), "allow_private": True}, headers=editor
        )
        body = {"url": server.url("/rss.xml"), "topic": "产业发展", "regions": ["湖南"], "allow_private": True}
        created = client.post("/api/v1/sources", json=body, headers=admin)
        source_id = created.json()["id"]
        polled = client.post(f"/api/v1/sources/{source_id}/poll", headers=editor)
        tested = client.post("/api/v1/sources/test", json={"url": server.url("/rss.xml")}, headers=editor)
        asked = server.paths()
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "allow_private"]
    assert refused.json()["detail"][0]["msg"] == "Only an admin may allow private addresses."
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("list", "topic", "regions", "interval_minutes", "paused")} == {
        "list": "rural-weekly",
        "topic": "industry",
        "regions": ["430000"],
        "interval_minutes": 60,
        "paused": False,
    }
    assert polled.status_code == 200 and {k: polled.json()[k] for k in ("status", "new", "errors")} == {
        "status": 200,
        "new": 1,
        "errors": [],
    }
    # Testing without the allowance: the loopback server is refused, and was never asked.
    assert tested.status_code == 422 and "loopback address" in tested.json()["detail"][0]["msg"]
    assert asked == ["/rss.xml"]
    listed = client.get("/api/v1/sources", headers=editor).json()
    assert [(s["id"], s["title"], s["last_status"]) for s in listed] == [(source_id, "三农新闻", 200)]
    assert client.post(f"/api/v1/sources/{source_id}/pause", headers=editor).json()["paused"] is True
    assert client.post(f"/api/v1/sources/{source_id}/resume", headers=editor).json()["paused"] is False
    assert client.delete(f"/api/v1/sources/{source_id}", headers=editor).status_code == 204
    assert client.get(f"/api/v1/sources/{source_id}", headers=editor).status_code == 404
    with transaction(site.url) as session:
        fed = select(models.Article.source_id).where(models.Article.title == "怀化柑橘丰收")
        assert session.execute(fed).scalars().all() == [None]  # the source went, its article stays


def test_a_bad_source_is_refused_field_by_field_and_nothing_is_stored(site):
    editor = _auth(site, SUN_EDITOR)
    bad = {"url": "file:///etc/passwd", "topic": "天气", "regions": ["火星"]}
    answer = site.client.post("/api/v1/sources", json=bad, headers=editor)
    assert answer.status_code == 422
    assert {tuple(d["loc"]) for d in answer.json()["detail"]} == {
        ("body", "url"),
        ("body", "topic"),
        ("body", "regions"),
    }
    assert (
        site.client.post(
            "/api/v1/sources", json={"url": "https://x.example/f", "interval_minutes": 1}, headers=editor
        ).status_code
        == 422
    )
    assert site.client.get("/api/v1/sources", headers=editor).json() == []


def test_a_read_token_may_look_but_not_add(site):
    add_staff(site.url, SUN_EDITOR)
    token = api_token(site.url, SUN_EDITOR)
    with transaction(site.url) as session:
        session.execute(models.ApiToken.__table__.update().values(scope="read"))
    headers = {"Authorization": f"Bearer {token}"}
    assert site.client.get("/api/v1/sources", headers=headers).status_code == 200
    assert site.client.post("/api/v1/sources", json={"url": "https://x.example/f"}, headers=headers).status_code == 403
