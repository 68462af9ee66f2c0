"""A list's article_text over a real send: a "lead" list's mail holds each article's lead and a link to the
whole on the issue's archive page, not the rest of it; a "full" list's holds everything; the archive page
(where the link leads) holds every article whole either way."""

from __future__ import annotations

import lxml.html
import pytest
from personas import LI_HUNAN, subscribe_confirmed
from sqlalchemy import select
from webutil import LIST, link_in, parse_mail, send_issue

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.leads import article_lead
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list

ARCHIVE = f"https://digest.example.org/lists/{LIST}/archive/1"


def _flat(text: str) -> str:
    return "".join(text.split())


def _paragraphs(body_html: str) -> list[str]:
    root = lxml.html.fragment_fromstring(body_html, create_parent="div")
    return [_flat(p.text_content()) for p in root.iter("p") if p.text_content().strip()]


def _sent(site, mode: str):
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.article_text = mode
        subscribe_confirmed(session, ml, load_regions(), [LI_HUNAN])
    issue_id = send_issue(site)
    [message] = site.smtp.messages
    _, text, html = parse_mail(message.data)
    with transaction(site.url) as session:
        articles = session.execute(select(models.Article.id, models.Article.title, models.Article.body_html)).all()
    page = _flat(lxml.html.fromstring(html).text_content())
    view = link_in(html, f"/issues/{issue_id}/view/")
    return [a for a in articles if _flat(a.title) in page], _flat(text), page, html, view


def _whole_on(response, articles) -> bool:
    """Whether the page `response` answered holds every paragraph of every article, and no read-more link."""
    assert response.status_code == 200
    shown = _flat(lxml.html.fromstring(response.text).text_content())
    return all(p in shown for a in articles for p in _paragraphs(a.body_html)) and "阅读全文" not in response.text


@pytest.mark.parametrize("mode", ["lead", "full"])
def test_the_mail_carries_what_the_list_says_and_the_archive_everything(site, mode):
    articles, text, page, html, view = _sent(site, mode)
    shortened = [a for a in articles if article_lead(a.body_html).shortened]
    assert articles and shortened
    for article in articles:
        paragraphs = _paragraphs(article.body_html)
        link = f'href="{ARCHIVE}#a{article.id}"'
        if mode == "full" or article not in shortened:
            assert all(p in page and p in text for p in paragraphs)
            continue
        lead = _flat(lxml.html.fragment_fromstring(article_lead(article.body_html).html).text_content())
        assert lead in page and lead in text
        assert link in html and f"阅读全文→{ARCHIVE}#a{article.id}" in text
        rest = [p for p in paragraphs[1:] if p not in lead]
        assert all(p not in page and p not in text for p in rest)
        if len(paragraphs[0]) > len(lead):  # the first paragraph cut: its end is left out too
            assert paragraphs[0] not in page
    if mode == "full":
        assert "阅读全文" not in html and "阅读全文" not in text
    archive = site.client.get(f"/lists/{LIST}/archive/1")
    assert _whole_on(archive, articles) and all(f'id="a{a.id}"' in archive.text for a in articles)
    # The reader's own copy in the browser is a page too: every article whole.
    assert _whole_on(site.client.get(view), articles)
