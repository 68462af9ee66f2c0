"""/api/v1/articles: filters, batches that keep good items, retag and hide, and 4xx (never 5xx) for bad input."""

from __future__ import annotations

import pytest
from personas import SUN_EDITOR
from sqlalchemy import func, select
from webutil import add_staff, api_token

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

GOOD = {
    "title": "稻田里养起了小龙虾",
    "body": "<p>稻虾共作让一块田有两份收入。</p>",
    "topic": "产业发展",
    "regions": ["湖北潜江"],
    "published": "2026-11-17",
    "source": "县融媒体中心",
    "url": "https://example.org/a",
}


@pytest.fixture
def api(site):
    add_staff(site.url, SUN_EDITOR)  # an editor's token: articles are hers
    site.client.headers["Authorization"] = f"Bearer {api_token(site.url, SUN_EDITOR)}"
    return site.client


def _count(url) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(models.Article))


def _row(url, article_id):
    with transaction(url) as session:
        row = session.get(models.Article, article_id)
        return {
            "title": row.title,
            "hidden": row.hidden,
            "codes": sorted(r.region_code for r in row.regions),
            "label": row.region_label,
            "topic": row.topic.slug,
            "body": row.body_html,
        }


def test_filters_and_paging(api):
    page = api.get("/api/v1/articles", params={"region": "湖南", "limit": 2}).json()
    assert page["total"] == 3 and len(page["items"]) == 2
    rest = api.get("/api/v1/articles", params={"region": "湖南", "limit": 2, "offset": 2}).json()
    assert len(rest["items"]) == 1
    assert {i["region_label"] for i in page["items"] + rest["items"]} == {"湖南怀化", "湖南隆回", "湖南邵阳"}
    item = page["items"][0]
    assert item["regions"][0]["name"].startswith("湖南省") and item["list"] == "rural-weekly"
    assert api.get("/api/v1/articles", params={"topic": "industry", "week": "2026-11-22"}).json()["total"] == 4
    assert (
        api.get("/api/v1/articles", params={"q": "金银花"}).json()["items"][0]["title"] == "金银花产业带动山区农户增收"
    )


def test_post_one_article_then_a_batch_keeping_the_good_ones(api, site):
    before = _count(site.url)
    one = api.post("/api/v1/articles", json=GOOD)
    assert one.status_code == 201
    [created] = one.json()["created"]
    assert _row(site.url, created)["codes"] == ["429005"] and _row(site.url, created)["topic"] == "industry"
    assert api.post("/api/v1/articles", json=GOOD).status_code == 200  # a duplicate adds nothing
    batch = [
        dict(GOOD, title="第二篇", body="另一段正文"),
        dict(GOOD, title="未知栏目", topic="天气预报"),
        dict(GOOD, title="未知地区", regions=["火星基地"]),
        dict(GOOD, title="坏日期", published="2026-02-30"),
        dict(GOOD, title="坏链接", url="javascript:alert(1)"),
    ]
    response = api.post("/api/v1/articles", json=batch)
    assert response.status_code == 201
    body = response.json()
    assert [i["status"] for i in body["items"]] == ["created", "rejected", "rejected", "rejected", "rejected"]
    assert [i["problems"][0]["field"] for i in body["items"][1:]] == ["topic", "regions", "published", "url"]
    assert _count(site.url) == before + 2


def test_a_batch_with_nothing_usable_is_422_and_stores_nothing(api, site):
    before = _count(site.url)
    response = api.post("/api/v1/articles", json=[dict(GOOD, topic="天气预报"), dict(GOOD, regions="火星基地")])
    assert response.status_code == 422
    assert [d["loc"] for d in response.json()["detail"]] == [["body", 0, "topic"], ["body", 1, "regions"]]
    assert _count(site.url) == before


def test_unsafe_html_is_sanitised_on_the_way_in(api, site):
    evil = dict(
        GOOD,
        title="<script>alert(1)</script>标题",
        body='<p>正文<script>alert(2)</script><img src="x" onerror="alert(3)"><a href="javascript:alert(4)">链</a></p>',
    )
    [created] = api.post("/api/v1/articles", json=evil).json()["created"]
    stored = _row(site.url, created)
    for bad in ("<script", "onerror", "javascript:", "alert("):
        assert bad not in stored["body"], bad
    assert api.get(f"/api/v1/articles/{created}").json()["body"] == stored["body"]


def test_patch_retags_and_hides_and_delete_hides(api, site):
    response = api.patch("/api/v1/articles/9", json={"regions": ["甘肃临泽", "全国"], "topic": "governance"})
    assert response.status_code == 200 and response.json()["region_label"] == "甘肃临泽、全国"
    assert _row(site.url, 9)["codes"] == ["000000", "620723"] and _row(site.url, 9)["topic"] == "governance"
    assert api.patch("/api/v1/articles/9", json={"hidden": True}).json()["hidden"] is True
    assert api.patch("/api/v1/articles/9", json={"hidden": False}).json()["hidden"] is False
    assert api.delete("/api/v1/articles/9").status_code == 200 and _row(site.url, 9)["hidden"] is True
    near = api.patch("/api/v1/articles/9", json={"regions": ["江苏沐阳"]}).json()
    assert near["warnings"] and near["regions"][0]["code"] == "321322"


def test_a_patch_with_one_bad_field_changes_nothing(api, site):
    before = _row(site.url, 9)
    response = api.patch(
        "/api/v1/articles/9", json={"title": "新标题", "regions": ["火星基地"], "published": "yesterday"}
    )
    assert response.status_code == 422
    assert {tuple(d["loc"]) for d in response.json()["detail"]} == {("body", "regions"), ("body", "published")}
    assert _row(site.url, 9) == before
    dup = api.patch("/api/v1/articles/9", json={"title": _row(site.url, 8)["title"], "body": _row(site.url, 8)["body"]})
    assert dup.status_code == 422 and "Article 8" in dup.json()["detail"][0]["msg"]
    assert _row(site.url, 9) == before


MALFORMED_POSTS = [
    [],
    {},
    "just a string",
    42,
    [GOOD] * 501,
    dict(GOOD, title=""),
    dict(GOOD, title=None),
    dict(GOOD, title=123),
    dict(GOOD, title="x" * 501),
    dict(GOOD, title="空\u0000字符"),
    dict(GOOD, title="付款\u202e说明"),
    dict(GOOD, source="新华社\n第二行"),
    dict(GOOD, body="x" * 200_001),
    dict(GOOD, regions=[]),
    dict(GOOD, regions=[1, 2]),
    dict(GOOD, regions={"province": "湖南"}),
    dict(GOOD, regions=["x" * 101]),
    dict(GOOD, regions=["火星"]),
    dict(GOOD, topic="不存在的栏目"),
    dict(GOOD, published="not a date"),
    dict(GOOD, published="2026-13-40"),
    dict(GOOD, published=20261117),
    dict(GOOD, url="ftp://example.org"),
    dict(GOOD, unexpected="field"),
    {k: v for k, v in GOOD.items() if k != "title"},
]


@pytest.mark.parametrize("body", MALFORMED_POSTS, ids=range(len(MALFORMED_POSTS)))
def test_malformed_posts_answer_4xx_and_store_nothing(api, site, body):
    before = _count(site.url)
    response = api.post("/api/v1/articles", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/json"
    assert _count(site.url) == before


def test_malformed_patches_ids_and_queries_answer_4xx(api, site):
    before = _row(site.url, 9)
    for body in (
        {"hidden": "yes"},
        {"title": ""},
        {"title": None},
        {"regions": "火星"},
        {"topic": "x"},
        {"published": "2026-99-99"},
        {"url": "javascript:x"},
        {"body": "<script>x</script>"},
        {"nope": 1},
        [],
        "x",
    ):
        response = api.patch("/api/v1/articles/9", json=body)
        assert 400 <= response.status_code < 500, (body, response.text)
    assert _row(site.url, 9) == before
    for bad in ("0", "-5", "abc", str(2**31), str(2**70), "1.5"):
        for method in (api.get, api.delete):
            assert method(f"/api/v1/articles/{bad}").status_code == 422, bad
    assert api.get("/api/v1/articles/999999").status_code == 404
    for params in (
        {"limit": 0},
        {"limit": 1000},
        {"offset": -1},
        {"week": "2026-02-30"},
        {"hidden": "maybe"},
        {"region": "火星"},
        {"topic": "nope"},
        {"list": "x" * 100},
    ):
        assert api.get("/api/v1/articles", params=params).status_code == 422, params
    assert api.get("/api/v1/articles", params={"list": "nope"}).status_code == 404
