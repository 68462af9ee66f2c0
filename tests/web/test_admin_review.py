"""The review queue in the console: an editor sees what waits (counted on the dashboard), confirms one as
suggested or corrected in one form, and a bad region is refused on the page; CSRF; titles escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from personas import SUN_EDITOR
from sqlalchemy import select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.statuses import Origin

GUESSED = "怀化一合作社冷库投用<script>alert(1)</script>"


def waiting_article(url, title: str, codes: list[str]) -> int:
    """An article the tagger placed in `codes` (none: nowhere) with little confidence; once per title."""
    with transaction(url) as session:
        ml = session.scalars(select(models.MailingList)).first()
        there = session.scalar(select(models.Article.id).where(models.Article.fingerprint == title))
        if there is not None:
            return there
        article = models.Article(
            list_id=ml.id, topic_id=ml.topics[0].id, title=title, body_html=f"<p>{title}</p>", region_label="",
            published_at=datetime(2026, 11, 18, 2, tzinfo=UTC), fingerprint=title, needs_review=True,
            topic_from=Origin.TAGGER, tag_confidence=0.42, tag_why=["冷库", "合作社"],
            regions=[models.ArticleRegion(region_code=c, came_from=Origin.TAGGER) for c in codes],
        )  # fmt: skip
        session.add(article)
        session.flush()
        return article.id


def _state(url, article_id: int):
    with transaction(url) as session:
        row = session.get_one(models.Article, article_id)
        return row.needs_review, [(r.region_code, r.came_from) for r in row.regions], row.topic.slug, row.topic_from


def _editor(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    return site.client


def _fields(page: str, article_id: int) -> dict[str, str]:
    form = re.search(rf'<form method="post" action="/admin/review/{article_id}".*?</form>', page, re.DOTALL).group(0)
    regions = re.search(r'name="regions" value="([^"]*)"', form).group(1)
    topic = re.search(r'<option value="([\w-]+)" selected>', form).group(1)
    return {"regions": regions, "topic": topic, "csrf_token": form_csrf(page, f"/admin/review/{article_id}")}


def test_the_queue_shows_what_waits_and_the_dashboard_counts_it(site):
    first = waiting_article(site.url, GUESSED, ["431200"])
    waiting_article(site.url, "一则没有地名的消息", [])
    client = _editor(site)
    dashboard = client.get("/admin/")
    assert re.search(r'id="stat-review".*?>2</a>', dashboard.text, re.DOTALL)
    page = client.get("/admin/review")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    assert "湖南怀化" in page.text and "把握 42%" in page.text and "冷库、合作社" in page.text
    assert "未找到地名" in page.text
    assert _fields(page.text, first)["regions"] == "湖南怀化"


def test_confirming_as_suggested_keeps_the_taggers_origin(site):
    article_id = waiting_article(site.url, GUESSED, ["431200"])
    client = _editor(site)
    fields = _fields(client.get("/admin/review").text, article_id)
    answer = client.post(f"/admin/review/{article_id}", data=fields, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].endswith("done=confirmed")
    waiting, regions, _, topic_from = _state(site.url, article_id)
    assert not waiting and regions == [("431200", Origin.TAGGER)] and topic_from == Origin.TAGGER
    assert "没有待审核的文章" in client.get("/admin/review").text


def test_a_correction_is_the_editors_and_a_bad_region_is_refused_on_the_page(site):
    article_id = waiting_article(site.url, "一则没有地名的消息", [])
    client = _editor(site)
    fields = _fields(client.get("/admin/review").text, article_id)
    refused = client.post(f"/admin/review/{article_id}", data=fields | {"regions": "不存在的地方"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.text
    assert _state(site.url, article_id)[0]
    fields = _fields(refused.text, article_id)
    answer = client.post(f"/admin/review/{article_id}", data=fields | {"regions": "沅陵"}, follow_redirects=False)
    assert answer.status_code == 303
    waiting, regions, _, _ = _state(site.url, article_id)
    assert not waiting and regions == [("431222", Origin.EDITOR)]


def test_a_confirmation_without_its_csrf_token_changes_nothing(site):
    article_id = waiting_article(site.url, GUESSED, ["431200"])
    client = _editor(site)
    fields = _fields(client.get("/admin/review").text, article_id)
    answer = client.post(f"/admin/review/{article_id}", data=fields | {"csrf_token": "forged"})
    assert answer.status_code == 403
    assert _state(site.url, article_id)[0]


def test_an_editor_reads_and_changes_the_topic_rules_and_a_bad_line_is_named(site):
    client = _editor(site)
    page = client.get("/admin/topic-rules")
    assert page.status_code == 200 and "栏目标注规则" in page.text and "(默认)" in page.text
    boxes = dict(re.findall(r'<textarea id="(rules-[\w-]+)" name="[\w-]+" rows="6">([^<]*)</textarea>', page.text))
    assert boxes and all(text.strip() for text in boxes.values())
    first = next(iter(boxes))
    token = form_csrf(page.text, "/admin/topic-rules?list=rural-weekly")
    refused = client.post("/admin/topic-rules", data={"csrf_token": token, first: "冷库 很重"})
    assert refused.status_code == 400 and "第 1 行“冷库 很重”" in refused.text
    saved = client.post("/admin/topic-rules", data={"csrf_token": token, first: "冷库 5"}, follow_redirects=False)
    assert saved.status_code == 303
    with transaction(site.url) as session:
        ml = session.scalars(select(models.MailingList)).first()
        assert {t.slug: t.keywords for t in ml.topics}[first[len("rules-") :]] == {"冷库": 5.0}
    forged = client.post("/admin/topic-rules", data={"csrf_token": "forged", first: "冷库 9"})
    assert forged.status_code == 403
