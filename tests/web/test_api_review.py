"""The review queue through the API: waiting articles listed with where their labels came from, and
confirmed as suggested or corrected; a bad correction is a 422 that changes nothing."""

from __future__ import annotations

from personas import SUN_EDITOR
from test_admin_review import GUESSED, waiting_article
from webutil import add_staff, api_token


def _api(site):
    add_staff(site.url, SUN_EDITOR)
    site.client.headers["Authorization"] = f"Bearer {api_token(site.url, SUN_EDITOR)}"
    return site.client


def test_waiting_articles_are_listed_with_their_origins_and_confirmed(site):
    guessed = waiting_article(site.url, GUESSED, ["431200"])
    nowhere = waiting_article(site.url, "一则没有地名的消息", [])
    api = _api(site)
    listed = api.get("/api/v1/articles", params={"waiting": "true"}).json()
    assert listed["total"] == 2 and {item["id"] for item in listed["items"]} == {guessed, nowhere}
    item = next(i for i in listed["items"] if i["id"] == guessed)
    assert item["needs_review"] and item["topic_from"] == "tagger" and item["tag_confidence"] == 0.42
    assert item["tag_why"] == ["冷库", "合作社"] and item["regions"][0]["came_from"] == "tagger"
    others = api.get("/api/v1/articles", params={"waiting": "false"}).json()
    assert others["total"] > 0 and not any(i["needs_review"] for i in others["items"])

    confirmed = api.post(f"/api/v1/articles/{guessed}/confirm", json={})
    assert confirmed.status_code == 200 and not confirmed.json()["needs_review"]
    assert confirmed.json()["regions"] == [{"code": "431200", "name": "湖南省怀化市", "came_from": "tagger"}]

    refused = api.post(f"/api/v1/articles/{nowhere}/confirm", json={})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "regions"]
    corrected = api.post(f"/api/v1/articles/{nowhere}/confirm", json={"regions": ["全国"]})
    assert corrected.status_code == 200
    assert corrected.json()["regions"] == [{"code": "000000", "name": "全国", "came_from": "editor"}]
    assert api.get("/api/v1/articles", params={"waiting": "true"}).json()["total"] == 0
