"""/api/v1/subscribers and /api/v1/suppressions: admins only, create-or-update by email, all-or-nothing edits,
4xx naming the field."""

from __future__ import annotations

from personas import ALL, LI_HUNAN, LIU_TOPICS, SUN_EDITOR, WANG_NATIONAL, ZHOU_ADMIN
from sqlalchemy import func, select
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

REGIONS = load_regions()
API = "/api/v1/subscribers"


def _auth(site, staff=ZHOU_ADMIN) -> dict:
    add_staff(site.url, staff)
    return {"Authorization": f"Bearer {api_token(site.url, staff)}"}


def _people(url, personas=ALL) -> dict[str, int]:
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
                status="confirmed",
            )
        return dict(session.execute(select(models.Subscriber.email, models.Subscriber.id)).all())


def _snapshot(url) -> list[tuple]:
    with transaction(url) as session:
        rows = session.execute(
            select(
                models.Subscriber.email,
                models.Subscriber.name,
                models.Subscriber.time_zone,
                models.Subscriber.locale,
                models.Subscription.status,
                models.Subscription.region_codes,
                models.Subscription.topic_slugs,
            )
            .join(models.Subscription)
            .order_by(models.Subscriber.email)
        ).all()
        suppressions = session.scalars(select(models.Suppression.email).order_by(models.Suppression.email)).all()
        return [tuple(r) for r in rows] + [("suppressed", *suppressions)]


def test_an_editor_token_is_refused_on_every_endpoint(site):
    ids = _people(site.url, [LI_HUNAN])
    editor = _auth(site, SUN_EDITOR)
    sid = ids[LI_HUNAN.email]
    before = _snapshot(site.url)
    calls = [
        ("get", API, None),
        ("post", API, {"email": "new@example.org"}),
        ("get", f"{API}/{sid}", None),
        ("patch", f"{API}/{sid}", {"name": "改"}),
        ("delete", f"{API}/{sid}", None),
        ("get", "/api/v1/suppressions", None),
        ("post", "/api/v1/suppressions", {"email": "a@example.org", "reason": "x"}),
        ("delete", "/api/v1/suppressions?email=a@example.org", None),
        ("delete", "/api/v1/suppressions/1", None),
    ]
    for method, path, body in calls:
        response = site.client.request(method, path, headers=editor, json=body)
        assert response.status_code == 403 and response.json()["detail"].endswith("admins only"), (method, path)
        assert site.client.request(method, path, json=body).status_code == 401, (method, path)
    assert _snapshot(site.url) == before


def test_create_then_update_by_email(site):
    admin = _auth(site)
    body = {
        "email": "Reader@Example.ORG",
        "name": "读者",
        "regions": ["湖南", "620723", "全国"],
        "topics": ["公共服务", "industry"],
        "time_zone": "Europe/Berlin",
        "locale": "en",
    }
    created = site.client.post(API, headers=admin, json=body)
    assert created.status_code == 201
    out = created.json()
    assert out["email"] == "Reader@example.org" and out["status"] == "pending"  # a new one waits for its opt-in
    assert [r["code"] for r in out["regions"]] == ["430000", "620723", "000000"]
    assert [r["name"] for r in out["regions"]] == ["湖南", "甘肃临泽", "全国"]
    assert [t["slug"] for t in out["topics"]] == ["industry", "public-services"]
    updated = site.client.post(
        API, headers=admin, json={"email": "Reader@example.org", "status": "confirmed", "regions": ["江苏沐阳"]}
    )
    assert updated.status_code == 200 and updated.json()["id"] == out["id"]
    assert updated.json()["warnings"] and "沭阳县" in updated.json()["warnings"][0]
    with transaction(site.url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == "Reader@example.org"))
        [sub] = person.subscriptions
        assert (person.name, person.time_zone, person.locale) == ("读者", "Europe/Berlin", "en")  # kept: not sent
        assert sub.status == "confirmed" and sub.confirmed_at is not None
        assert sub.region_codes == ["321322"] and sub.topic_slugs == ["industry", "public-services"]


def test_find_with_filters_and_pages(site):
    _people(site.url)
    admin = _auth(site)
    found = site.client.get(API, headers=admin, params={"region": "怀化"}).json()
    assert {i["email"] for i in found["items"]} == {LI_HUNAN.email, LIU_TOPICS.email} and found["total"] == 2
    assert found["counts"] == {"pending": 0, "confirmed": 2, "unsubscribed": 0}
    national = site.client.get(
        API, headers=admin, params={"region": "全国", "topic": "产业发展", "q": "example.cn"}
    ).json()
    assert {i["email"] for i in national["items"]} == {WANG_NATIONAL.email, LIU_TOPICS.email}
    first = site.client.get(API, headers=admin, params={"limit": 4}).json()
    rest = site.client.get(API, headers=admin, params={"limit": 4, "offset": 4}).json()
    assert first["total"] == 6 and len(first["items"]) == 4 and len(rest["items"]) == 2
    assert {i["email"] for i in first["items"] + rest["items"]} == {p.email for p in ALL}
    after = site.client.get(API, headers=admin, params={"limit": 4, "after": first["next_after"]}).json()
    assert after["items"] == rest["items"] and after["next_after"] is None and not after["capped"]
    assert site.client.get(API, headers=admin, params={"status": "unsubscribed"}).json()["total"] == 0
    assert site.client.get(API, headers=admin, params={"list": "nope"}).status_code == 404
    bad = site.client.get(API, headers=admin, params={"region": "火星"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "region"]


def test_read_patch_and_unsubscribe_keeping_the_row(site):
    ids = _people(site.url, [LI_HUNAN])
    admin = _auth(site)
    sid = ids[LI_HUNAN.email]
    read = site.client.get(f"{API}/{sid}", headers=admin)
    assert read.status_code == 200 and read.json()["regions"] == [{"code": "430000", "name": "湖南"}]
    patched = site.client.patch(
        f"{API}/{sid}", headers=admin, json={"name": "李伟伟", "topics": ["macro"], "regions": []}
    )
    assert (
        patched.status_code == 200
        and patched.json()["regions"] == []
        and patched.json()["topics"][0]["name"] == "宏观形势"
    )
    before = _snapshot(site.url)
    refused = site.client.patch(f"{API}/{sid}", headers=admin, json={"name": "不该保存", "regions": ["湖南", "火星"]})
    assert refused.status_code == 422
    assert refused.json()["detail"] == [
        {"loc": ["body", "regions", 1], "msg": "unknown region '火星'", "type": "subs_err_unknown_region"}
    ]
    assert _snapshot(site.url) == before
    gone = site.client.delete(f"{API}/{sid}", headers=admin)
    assert gone.status_code == 200 and gone.json()["status"] == "unsubscribed" and gone.json()["unsubscribed_at"]
    with transaction(site.url) as session:
        sub = session.scalar(select(models.Subscription))
        assert sub.status == "unsubscribed" and sub.subscriber.name == "李伟伟" and sub.topic_slugs == ["macro"]
    assert site.client.get(f"{API}/999999", headers=admin).status_code == 404


def test_suppressions_add_list_and_lift(site):
    _people(site.url, [LI_HUNAN])
    admin = _auth(site)
    added = site.client.post(
        "/api/v1/suppressions", headers=admin, json={"email": LI_HUNAN.email, "reason": "hard bounce"}
    )
    assert added.status_code == 201 and added.json()["email"] == LI_HUNAN.email
    again = site.client.post(
        "/api/v1/suppressions", headers=admin, json={"email": LI_HUNAN.email, "reason": "complaint"}
    )
    assert (
        again.status_code == 200 and again.json()["id"] == added.json()["id"] and again.json()["reason"] == "complaint"
    )
    site.client.post("/api/v1/suppressions", headers=admin, json={"email": "other@example.org", "reason": "asked"})
    listed = site.client.get("/api/v1/suppressions", headers=admin, params={"q": "compl"}).json()
    assert listed["total"] == 1 and listed["items"][0]["email"] == LI_HUNAN.email
    assert site.client.get(API, headers=admin).json()["items"][0]["suppressed"] is True
    assert (
        site.client.delete("/api/v1/suppressions", headers=admin, params={"email": LI_HUNAN.email}).status_code == 204
    )
    assert (
        site.client.delete("/api/v1/suppressions", headers=admin, params={"email": LI_HUNAN.email}).status_code == 404
    )
    other = site.client.get("/api/v1/suppressions", headers=admin).json()["items"][0]
    assert site.client.delete(f"/api/v1/suppressions/{other['id']}", headers=admin).status_code == 204
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Suppression)) == 0


def test_malformed_input_always_answers_4xx_and_changes_nothing(site):
    ids = _people(site.url, [LI_HUNAN])
    admin = _auth(site)
    sid = ids[LI_HUNAN.email]
    before = _snapshot(site.url)
    bodies = [
        None,
        [],
        "text",
        42,
        {},
        {"email": None},
        {"email": 42},
        {"email": ["a@example.org"]},
        {"email": "not-an-email"},
        {"email": "a@@example.org"},
        {"email": "x" * 10_000 + "@example.org"},
        {"email": "a@example.org", "name": "x" * 5000},
        {"email": "a@example.org", "name": 7},
        {"email": "a@example.org", "regions": "湖南"},
        {"email": "a@example.org", "regions": ["湖南", "火星"]},
        {"email": "a@example.org", "regions": [""]},
        {"email": "a@example.org", "regions": [1, 2]},
        {"email": "a@example.org", "regions": ["湖南"] * 500},
        {"email": "a@example.org", "regions": ["湖" * 5000]},
        {"email": "a@example.org", "regions": ["鼓楼区"]},
        {"email": "a@example.org", "topics": ["天文"]},
        {"email": "a@example.org", "topics": [{"slug": "macro"}]},
        {"email": "a@example.org", "status": "asleep"},
        {"email": "a@example.org", "status": True},
        {"email": "a@example.org", "time_zone": "Mars/Olympus"},
        {"email": "a@example.org", "time_zone": "../../etc/passwd"},
        {"email": "a@example.org", "locale": "fr"},
        {"email": "a@example.org", "admin": True},
        {"email": "a@example.org", "name": None},
        {"email": "a@example.org\r\nBcc: x@example.org"},
    ]
    for body in bodies:
        response = site.client.post(API, headers=admin, json=body)
        assert 400 <= response.status_code < 500 and response.json()["detail"], body
    raw = site.client.post(
        API, headers={**admin, "Content-Type": "application/json"}, content=b'{"email": "a@example.org", '
    )
    assert raw.status_code == 422
    patches = [
        {"regions": ["火星"]},
        {"status": "asleep"},
        {"email": "new@example.org"},
        {"topics": None},
        {"locale": ["en"]},
        [],
    ]
    for body in patches:
        assert 400 <= site.client.patch(f"{API}/{sid}", headers=admin, json=body).status_code < 500, body
    for bad_id in ("0", "-1", "abc", "1.5", str(2**63), "9" * 40):
        for method in ("get", "patch", "delete"):
            response = site.client.request(method, f"{API}/{bad_id}", headers=admin, json={"name": "x"})
            assert 400 <= response.status_code < 500, (method, bad_id)
    for params in (
        {"limit": 0},
        {"limit": 10_000},
        {"offset": -1},
        {"status": "asleep"},
        {"topic": "天文"},
        {"q": "x" * 500},
        {"list": "x" * 100},
    ):
        assert 400 <= site.client.get(API, headers=admin, params=params).status_code < 500, params
    for body in (
        {"email": "a@example.org"},
        {"email": "nope", "reason": "x"},
        {"email": "a@example.org", "reason": ""},
        {"email": "a@example.org", "reason": "x" * 301},
        {"email": "a@example.org", "reason": 5},
    ):
        assert site.client.post("/api/v1/suppressions", headers=admin, json=body).status_code == 422, body
    assert site.client.delete("/api/v1/suppressions", headers=admin).status_code == 422
    assert site.client.delete(f"/api/v1/suppressions/{2**63}", headers=admin).status_code == 422
    assert _snapshot(site.url) == before
    named = site.client.post(API, headers=admin, json={"email": "a@example.org", "topics": ["macro", "天文"]}).json()[
        "detail"
    ]
    assert named[0]["loc"] == ["body", "topics", 1] and "天文" in named[0]["msg"]
    unclear = site.client.post(API, headers=admin, json={"email": "a@example.org", "regions": ["鼓楼区"]}).json()[
        "detail"
    ][0]
    assert unclear["type"] == "subs_err_region_unclear" and "福建省福州市鼓楼区" in unclear["msg"]
