"""An editor's preview holds no key to a subscriber: every link in the framed digest and its text part leads
nowhere personal, and the page lists no subscriber's address to an editor (SQLite and PostgreSQL)."""

from __future__ import annotations

import html
import re

from personas import ALL, LI_HUNAN, SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from test_admin_issues import _issue, _people, _signed_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

SITE = "https://digest.example.org"


def _links(text: str) -> set[str]:
    return {html.unescape(u) for u in re.findall(r"https://digest\.example\.org/[^\s\"'<>]+", text)}


def test_an_editors_preview_carries_no_working_personal_link(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site, SUN_EDITOR)
    page = client.get(f"/admin/issues/{issue_id}/preview", params={"email": LI_HUNAN.email})
    frame = client.get(f"/admin/issues/{issue_id}/preview/digest", params={"email": LI_HUNAN.email})
    assert page.status_code == 200 and frame.status_code == 200
    links = _links(page.text) | _links(frame.text)
    personal = {u for u in links if re.search(r"/(p|u)/|/view/", u)}
    assert personal, "the preview should still show where the personal links go"
    stranger = site.new_client()
    for url in sorted(links):
        path = url.removeprefix(SITE)
        opened = stranger.get(path, follow_redirects=False)
        assert opened.status_code >= 400 or LI_HUNAN.email not in opened.text, path
        posted = stranger.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
        assert posted.status_code >= 400 or LI_HUNAN.email not in posted.text, path
    # Nothing was changed for them either: still confirmed, as before.
    with transaction(site.url) as session:
        status = session.scalar(
            select(models.Subscription.status).join(models.Subscriber).where(models.Subscriber.email == LI_HUNAN.email)
        )
    assert status == "confirmed"


def test_the_preview_page_lists_no_subscriber_address_to_an_editor(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site, SUN_EDITOR)
    empty = client.get(f"/admin/issues/{issue_id}/preview")
    chosen = client.get(f"/admin/issues/{issue_id}/preview", params={"email": LI_HUNAN.email})
    assert empty.status_code == 200 and chosen.status_code == 200
    for person in ALL:
        assert person.email not in empty.text
        if person is not LI_HUNAN:  # the one the editor typed is shown back to them
            assert person.email not in chosen.text


def test_an_admin_still_picks_a_subscriber_by_address(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site, ZHOU_ADMIN)
    page = client.get(f"/admin/issues/{issue_id}/preview")
    assert all(f'<option value="{p.email}">' in page.text for p in ALL)
