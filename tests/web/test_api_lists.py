"""/api/v1/lists/{slug}: read settings; PATCH for admins only, validated field by field, all or nothing."""

from __future__ import annotations

import pytest
from personas import SUN_EDITOR, ZHOU_ADMIN
from webutil import add_staff, api_token

from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list

URL = "/api/v1/lists/rural-weekly"


def _auth(site, staff) -> dict:
    add_staff(site.url, staff)
    return {"Authorization": f"Bearer {api_token(site.url, staff)}"}


def _state(url):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        return (
            ml.name,
            ml.send_weekday,
            ml.send_time,
            ml.time_zone,
            ml.schedule_enabled,
            ml.rate_limit,
            ml.credits,
            ml.masthead,
            ml.reply_to,
            [(t.slug, t.name) for t in ml.topics],
        )


def test_read_one_list(site):
    body = site.client.get(URL, headers=_auth(site, SUN_EDITOR)).json()
    assert body["slug"] == "rural-weekly" and body["schedule"] == {
        "weekday": "monday",
        "time": "08:00",
        "time_zone": "Asia/Shanghai",
        "enabled": True,
        "rate_limit": None,
        "catch_up_hours": 6.0,
    }
    assert body["subscribers"] == {"pending": 0, "confirmed": 0, "unsubscribed": 0}
    assert [t["name"] for t in body["topics"]][:2] == ["宏观形势", "脱贫攻坚"]
    assert site.client.get("/api/v1/lists/nope", headers=_auth(site, ZHOU_ADMIN)).status_code == 404


def test_an_admin_patches_schedule_branding_and_topics(site):
    headers = _auth(site, ZHOU_ADMIN)
    topics = site.client.get(URL, headers=headers).json()["topics"]
    topics[0], topics[1] = topics[1], topics[0]
    topics[2]["name"] = "产业振兴"
    response = site.client.patch(
        URL,
        headers=headers,
        json={
            "weekday": "saturday",
            "time": "07:05",
            "time_zone": "America/New_York",
            "schedule_enabled": False,
            "rate_limit": 3.5,
            "masthead": "周报",
            "reply_to": "desk@example.org",
            "credits": [{"label": "制作", "value": "编辑部"}, {"label": "审核", "value": "周明"}],
            "topics": [*topics, {"slug": "culture", "name": "乡风文明"}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["branding"]["credits"][1] == {"label": "审核", "value": "周明"}
    _, *rest, topics_now = _state(site.url)
    assert rest == [
        5,
        "07:05",
        "America/New_York",
        False,
        3.5,
        [["制作", "编辑部"], ["审核", "周明"]],
        "周报",
        "desk@example.org",
    ]
    assert topics_now[:3] == [("poverty-alleviation", "脱贫攻坚"), ("macro", "宏观形势"), ("industry", "产业振兴")]
    assert topics_now[-1] == ("culture", "乡风文明")
    assert site.client.patch(URL, headers=headers, json={"weekday": 2}).json()["schedule"]["weekday"] == "wednesday"


def test_an_admin_sets_how_much_of_each_article_the_mail_carries(site):
    headers = _auth(site, ZHOU_ADMIN)
    assert site.client.get(URL, headers=headers).json()["article_text"] == "lead"
    assert site.client.patch(URL, headers=headers, json={"article_text": "full"}).json()["article_text"] == "full"
    with transaction(site.url) as session:
        assert ensure_default_list(session).article_text == "full"


def test_an_editor_may_not_patch_a_list(site):
    before = _state(site.url)
    response = site.client.patch(URL, headers=_auth(site, SUN_EDITOR), json={"name": "编辑改的"})
    assert response.status_code == 403 and response.headers["content-type"] == "application/json"
    assert _state(site.url) == before


BAD_PATCHES = [
    {"name": ""},
    {"name": None},
    {"name": "x" * 201},
    {"sender_email": "not-an-address"},
    {"reply_to": "@"},
    {"language": "fr"},
    {"article_text": "summary"},
    {"weekday": "someday"},
    {"weekday": 7},
    {"time": "8am"},
    {"time": "24:00"},
    {"time_zone": "Mars/Olympus"},
    {"time_zone": "../../etc/passwd"},
    {"schedule_enabled": "yes"},
    {"rate_limit": -1},
    {"rate_limit": "fast"},
    {"rate_limit": 1e9},
    {"credits": [{"label": "制作"}]},
    {"credits": [{"label": "", "value": "x"}]},
    {"credits": [{"label": "制作", "value": "x"}] * 13},
    {"topics": [{"slug": "macro", "name": "宏观形势"}]},
    {"topics": [{"slug": "Bad Slug", "name": "x"}]},
    {"topics": "macro"},
    {"unknown": 1},
    [],
    "x",
]


@pytest.mark.parametrize("body", BAD_PATCHES, ids=range(len(BAD_PATCHES)))
def test_bad_patches_answer_4xx_naming_the_field_and_change_nothing(site, body):
    headers = _auth(site, ZHOU_ADMIN)
    before = _state(site.url)
    response = site.client.patch(URL, headers=headers, json=body)
    assert 400 <= response.status_code < 500, response.text
    detail = response.json()["detail"]
    if isinstance(body, dict):
        assert any(next(iter(body)) in d["loc"] for d in detail), detail
    assert _state(site.url) == before


def test_the_review_threshold_is_read_and_patched_and_out_of_range_is_refused(site):
    headers = _auth(site, ZHOU_ADMIN)
    assert site.client.get(URL, headers=headers).json()["review_below"] == 0.6
    assert site.client.patch(URL, headers=headers, json={"review_below": 0.4}).json()["review_below"] == 0.4
    refused = site.client.patch(URL, headers=headers, json={"review_below": 2})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "review_below"
    assert site.client.get(URL, headers=headers).json()["review_below"] == 0.4


def test_the_bounce_domain_and_threshold_are_read_and_patched(site):
    headers = _auth(site, ZHOU_ADMIN)
    shown = site.client.get(URL, headers=headers).json()
    assert (shown["bounce_domain"], shown["bounce_threshold"]) == (None, 5.0)
    patched = site.client.patch(URL, headers=headers, json={"bounce_domain": "b.example.org", "bounce_threshold": 2.5})
    assert (patched.json()["bounce_domain"], patched.json()["bounce_threshold"]) == ("b.example.org", 2.5)
    refused = site.client.patch(URL, headers=headers, json={"bounce_domain": "b..example"})
    assert 400 <= refused.status_code < 500 and "bounce_domain" in refused.text
    assert site.client.get(URL, headers=headers).json()["bounce_domain"] == "b.example.org"
