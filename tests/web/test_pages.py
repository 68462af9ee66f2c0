"""The subscriber pages over HTTP, on SQLite and PostgreSQL, with mail through a real SMTP server."""

from __future__ import annotations

import json
import re
import time as clock
from datetime import date, timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select
from webutil import LIST, PERIOD_END, PUBLISHED, csrf_from, link_in, parse_mail
from webutil import send_issue as _send_issue

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_text
from digest.core.regions import load_regions
from digest.core.statuses import IssueStatus
from digest.core.tokens import sign_token
from digest.services.articles import store_articles
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription

SUBSCRIBE = f"/lists/{LIST}/subscribe"


def _subscription(url: str, address: str) -> models.Subscription | None:
    with transaction(url) as session:
        sub = session.scalar(
            select(models.Subscription).join(models.Subscriber).where(models.Subscriber.email == address)
        )
        if sub is not None:
            session.expunge(sub)
        return sub


def _add(url: str, address: str, *, name: str = "", regions=(), topics=(), status: str = "confirmed") -> int:
    with transaction(url) as session:
        sub, _, _ = upsert_subscription(
            session,
            ensure_default_list(session),
            load_regions(),
            email=address,
            name=name,
            region_labels=regions,
            topic_labels=topics,
            status=status,
        )
        return sub.subscriber_id


def _subscribe(client, address: str, **extra):
    page = client.get(SUBSCRIBE)
    data = {"email": address, "name": "", "region": ["000000"], "topic": [], "csrf_token": csrf_from(page.text)}
    data.update(extra)
    return client.post(SUBSCRIBE, data=data)


def test_the_form_ticks_national_and_lists_topics_in_section_order(site):
    page = site.client.get(SUBSCRIBE)
    assert page.status_code == 200
    html = page.text
    assert 'value="000000" checked' in html
    positions = [
        html.index(f'value="{slug}"')
        for slug in ("macro", "poverty-alleviation", "industry", "living-environment", "governance", "public-services")
    ]
    assert positions == sorted(positions)
    assert '<option value="Asia/Shanghai" selected>' in html
    assert 'value="620723"' in html  # 临泽, three levels down
    assert site.client.get("/lists/no-such-list/subscribe").status_code == 404


def test_subscribe_mails_a_link_that_confirms_once_and_for_all(site):
    response = _subscribe(
        site.client, "new.reader@example.org", name="新读者", region=["620723", "430000"], topic=["industry"]
    )
    assert response.status_code == 200
    sub = _subscription(site.url, "new.reader@example.org")
    assert sub.status == "pending" and sub.region_codes == ["620723", "430000"] and sub.topic_slugs == ["industry"]

    [received] = site.smtp.messages
    assert received.rcpt_tos == ["new.reader@example.org"]
    msg, text, html = parse_mail(received.data)
    assert "乡村振兴周报" in msg["Subject"] and "List-Unsubscribe" not in msg
    link = link_in(text, "/confirm/")
    assert link in html

    # Opening the link (as a mail scanner does) confirms nothing: it shows one button that posts.
    scanner = site.new_client().get(link)
    assert scanner.status_code == 200 and scanner.text.count("<button") == 1
    assert f'<form method="post" action="{link}">' in scanner.text and "new.reader@example.org" in scanner.text
    assert _subscription(site.url, "new.reader@example.org").status == "pending"
    # The button is CSRF-protected like the other public forms: no token, or another form's, does nothing.
    assert site.new_client().post(link, data={}).status_code == 403
    other = csrf_from(site.client.get(SUBSCRIBE).text)
    assert site.client.post(link, data={"csrf_token": other}).status_code == 403
    assert _subscription(site.url, "new.reader@example.org").status == "pending"

    token = csrf_from(site.client.get(link).text)
    for _ in range(2):  # a second press is harmless
        page = site.client.post(link, data={"csrf_token": token})
        assert page.status_code == 200 and "订阅已确认" in page.text
    sub = _subscription(site.url, "new.reader@example.org")
    assert sub.status == "confirmed" and sub.confirmed_at is not None
    assert 'href="/p/' in page.text
    # The picks by name, and the first issue: the list's next slot not yet planned (Monday 08:00, Shanghai).
    assert "地区：甘肃临泽、湖南" in page.text and "栏目：产业发展" in page.text
    assert "第一期将于2026年11月30日（星期一）08:00（Asia/Shanghai时间）送达" in page.text
    # Once confirmed, the link itself shows the same page.
    assert "订阅已确认" in site.new_client().get(link).text


def test_each_confirmation_carries_its_own_link_in_inlined_html(site):
    # The inlined HTML is made once and shared: each mail must still hold its own link, and no stand-in.
    for address in ("first@example.org", "second@example.org"):
        assert _subscribe(site.new_client(), address).status_code == 200
    links = []
    for received in site.smtp.messages:
        _, text, html = parse_mail(received.data)
        link = link_in(text, "/confirm/")
        assert html.count(link) == 2 and "link.invalid" not in html and 'style="' in html
        links.append(link)
    assert len(links) == 2 and links[0] != links[1]


def test_the_answer_is_the_same_for_new_pending_and_confirmed_addresses(site):
    _add(site.url, "known@example.org", name="老读者", regions=["湖南"], status="confirmed")
    known = _subscribe(site.new_client(), "known@example.org", name="Mallory", region=["540000"])
    new = _subscribe(site.new_client(), "fresh@example.org", name="Mallory", region=["540000"])
    pending = _subscribe(site.new_client(), "fresh@example.org", name="Mallory", region=["540000"])
    assert known.status_code == new.status_code == pending.status_code == 200

    def strip(r):
        return r.text.replace("known@example.org", "X").replace("fresh@example.org", "X")

    assert strip(known) == strip(new) == strip(pending)

    # The confirmed subscriber's picks and name are untouched; they get a note, not a confirmation.
    sub = _subscription(site.url, "known@example.org")
    assert sub.status == "confirmed" and sub.region_codes == ["430000"]
    with transaction(site.url) as session:
        person = session.scalar(select(models.Subscriber).where(models.Subscriber.email == "known@example.org"))
        assert person.name == "老读者"
    by_address = {}
    for m in site.smtp.messages:
        by_address.setdefault(m.rcpt_tos[0], []).append(parse_mail(m.data)[1])
    assert "/p/" in by_address["known@example.org"][0] and "/confirm/" not in by_address["known@example.org"][0]
    assert len(by_address["fresh@example.org"]) == 2 and all("/confirm/" in t for t in by_address["fresh@example.org"])


def test_a_missing_csrf_token_is_refused_and_changes_nothing(site):
    site.client.get(SUBSCRIBE)  # has the cookie, but sends no token
    response = site.client.post(SUBSCRIBE, data={"email": "x@example.org", "region": ["000000"]})
    assert response.status_code == 403
    assert _subscription(site.url, "x@example.org") is None and site.smtp.messages == []

    subscriber_id = _add(site.url, "reader@example.org", regions=["湖南"])
    prefs = "/p/" + sign_token(site.settings.secret_key, "preferences", subscriber_id, LIST)
    assert site.client.get(prefs).status_code == 200
    response = site.client.post(prefs, data={"action": "leave"})
    assert response.status_code == 403
    # A token for another form does not do either.
    other = csrf_from(site.client.get(SUBSCRIBE).text)
    assert site.client.post(prefs, data={"action": "leave", "csrf_token": other}).status_code == 403
    unsubscribe = "/u/" + sign_token(site.settings.secret_key, "unsubscribe", subscriber_id, LIST)
    assert site.client.post(unsubscribe, data={}).status_code == 403
    assert _subscription(site.url, "reader@example.org").status == "confirmed"


def _expired_confirm_token(secret: str, subscriber_id: int) -> str:
    class Past(TimestampSigner):
        def get_timestamp(self):
            return int(clock.time()) - 30 * 24 * 3600

    return URLSafeTimedSerializer(secret, salt="digest.confirm", signer=Past).dumps([subscriber_id, LIST])


def test_forged_expired_and_wrong_purpose_tokens_get_a_plain_400(site):
    secret = site.settings.secret_key
    confirmed = _add(site.url, "reader@example.org", regions=["湖南"])
    pending = _add(site.url, "waiting@example.org", status="pending")
    unsubscribe = sign_token(secret, "unsubscribe", confirmed, LIST)
    attempts = [
        ("get", "/u/" + unsubscribe[:-3] + "abc"),
        ("post", "/u/" + sign_token("another-secret-0123456789", "unsubscribe", confirmed, LIST)),
        ("post", "/u/" + sign_token(secret, "preferences", confirmed, LIST)),
        ("get", "/p/" + unsubscribe),
        ("post", "/p/" + sign_token(secret, "view", confirmed, LIST)),
        ("get", "/confirm/" + sign_token(secret, "preferences", pending, LIST)),
        ("get", "/u/" + sign_token(secret, "unsubscribe", confirmed, "another-list")),
        ("get", "/u/" + sign_token(secret, "unsubscribe", 999_999, LIST)),
        ("get", "/issues/1/view/" + unsubscribe),
    ]
    for method, path in attempts:
        data = {"List-Unsubscribe": "One-Click"} if method == "post" else None
        response = getattr(site.client, method)(path, **({"data": data} if data else {}))
        assert response.status_code == 400, path
        assert "此链接无效或已过期" in response.text
    assert _subscription(site.url, "reader@example.org").status == "confirmed"
    assert _subscription(site.url, "waiting@example.org").status == "pending"


def test_one_click_unsubscribe_works_without_cookies_and_the_next_send_skips_them(site):
    leaving = _add(site.url, "leaving@example.org", regions=["全国"])
    _add(site.url, "staying@example.org", regions=["全国"])
    path = "/u/" + sign_token(site.settings.secret_key, "unsubscribe", leaving, LIST)
    provider = site.new_client()
    response = provider.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert response.status_code == 200 and not provider.cookies
    first = _subscription(site.url, "leaving@example.org")
    assert first.status == "unsubscribed" and first.unsubscribed_at is not None
    again = site.new_client().post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    assert again.status_code == 200
    assert _subscription(site.url, "leaving@example.org").unsubscribed_at == first.unsubscribed_at

    _send_issue(site)
    assert [m.rcpt_tos[0] for m in site.smtp.messages] == ["staying@example.org"]


def test_the_unsubscribe_page_has_one_button(site):
    subscriber_id = _add(site.url, "reader@example.org")
    path = "/u/" + sign_token(site.settings.secret_key, "unsubscribe", subscriber_id, LIST)
    page = site.client.get(path)
    assert page.status_code == 200 and page.text.count("<button") == 1
    done = site.client.post(path, data={"csrf_token": csrf_from(page.text)})
    assert done.status_code == 200 and "您已退订" in done.text
    assert _subscription(site.url, "reader@example.org").status == "unsubscribed"


def test_names_are_escaped_on_the_preferences_page(site):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    subscriber_id = _add(site.url, "xss@example.org", name=payload)
    page = site.client.get("/p/" + sign_token(site.settings.secret_key, "preferences", subscriber_id, LIST))
    assert page.status_code == 200
    assert payload not in page.text and "<script>alert" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


@pytest.mark.clock
def test_preferences_change_picks_pause_and_leave(site):
    secret = site.settings.secret_key
    subscriber_id = _add(site.url, "reader@example.org", regions=["全国"])
    path = "/p/" + sign_token(secret, "preferences", subscriber_id, LIST)
    page = site.client.get(path)
    token = csrf_from(page.text)
    saved = site.client.post(
        path,
        data={
            "action": "save",
            "name": "读者",
            "region": ["431200", "000000"],
            "topic": ["public-services", "industry"],
            "time_zone": "Europe/Berlin",
            "locale": "en",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    sub = _subscription(site.url, "reader@example.org")
    assert sub.region_codes == ["431200", "000000"] and sub.topic_slugs == ["industry", "public-services"]
    shown = site.client.get(saved.headers["location"])
    assert "Your choices are saved." in shown.text  # the language they chose
    assert '<option value="Europe/Berlin" selected>' in shown.text

    bad = site.client.post(path, data={"action": "save", "region": ["999999"], "csrf_token": token})
    assert bad.status_code == 400
    assert _subscription(site.url, "reader@example.org").region_codes == ["431200", "000000"]

    site.client.post(path, data={"action": "pause", "weeks": "3", "csrf_token": token})
    sub = _subscription(site.url, "reader@example.org")
    # Three weeks from their today (Europe/Berlin, by the site's clock: SITE_NOW is 03:00 there on 23 November).
    assert sub.paused_until == date(2026, 11, 23) + timedelta(weeks=3)
    site.client.post(path, data={"action": "resume", "csrf_token": token})
    assert _subscription(site.url, "reader@example.org").paused_until is None

    left = site.client.post(path, data={"action": "leave_all", "csrf_token": token})
    assert left.status_code == 200
    assert _subscription(site.url, "reader@example.org").status == "unsubscribed"
    site.client.post(path, data={"action": "resubscribe", "csrf_token": token})
    assert _subscription(site.url, "reader@example.org").status == "confirmed"


def test_more_than_five_posts_a_minute_get_429(site):
    client = site.new_client()
    statuses = [_subscribe(client, f"r{i}@example.org").status_code for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert len(site.smtp.messages) == 5


def test_view_in_browser_shows_their_cut_and_the_archive_everything(site):
    _add(site.url, "hunan@example.org", regions=["湖南"])
    issue_id = _send_issue(site)
    [received] = site.smtp.messages
    _, text, html = parse_mail(received.data)
    view = link_in(text, f"/issues/{issue_id}/view/")
    # The contents link to each article on the issue's public page, which has it.
    contents = re.findall(r'<a href="([^"]+#a\d+)"', html)
    assert contents and all(c.startswith(f"{site.settings.base_url}/lists/{LIST}/archive/1#a") for c in contents)
    page = site.client.get(view)
    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in page.text
    assert "部署全面推进乡村振兴工作" not in page.text  # national news: not their pick
    assert "您关注：湖南｜全部栏目" in page.text

    archive = site.client.get(f"/lists/{LIST}/archive")
    assert archive.status_code == 200 and f"/lists/{LIST}/archive/1" in archive.text
    full = site.client.get(f"/lists/{LIST}/archive/1")
    assert full.status_code == 200
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in full.text and "部署全面推进乡村振兴工作" in full.text
    assert "hunan@example.org" not in full.text and "您关注：" not in full.text
    assert all(f'id="{c.split("#")[1]}"' in full.text for c in contents)
    assert site.client.get(f"/lists/{LIST}/archive/2").status_code == 404


def _upload_late(site, title: str) -> None:
    """An article of the same week uploaded after the issue went out."""
    record = {"title": title, "body": "正文。", "topic": "宏观形势", "regions": ["湖南"], "published": "2026-11-21"}
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        report = store_articles(
            session,
            ml,
            parse_text(json.dumps(record, ensure_ascii=False), fmt="jsonl"),
            load_regions(),
            source="late",
            published=PUBLISHED,
        )
        assert report.added == 1


def test_the_archive_shows_what_went_out_not_what_was_uploaded_since(site):
    _add(site.url, "hunan@example.org", regions=["湖南"])
    issue_id = _send_issue(site)
    with transaction(site.url) as session:
        fixed = session.get_one(models.Issue, issue_id).article_ids
        shown = session.scalar(select(func.count()).select_from(models.Article))
    assert fixed is not None and len(fixed) == shown  # the whole week, fixed as the first copy was built
    _upload_late(site, "发出之后才上传的湖南新闻")

    full = site.client.get(f"/lists/{LIST}/archive/1")
    assert full.status_code == 200 and "沅陵县创办全国首家乡村振兴金融服务组织" in full.text
    assert "发出之后才上传的湖南新闻" not in full.text
    # Nobody's copy: no greeting, no address, no personal links; a way to subscribe and back to the archive.
    assert "您好" not in full.text and "本邮件发送至" not in full.text and "退订" not in full.text
    site_url = f"https://digest.example.org/lists/{LIST}"
    assert re.search(f'href="{site_url}/subscribe"[^>]*>订阅本刊</a>', full.text)
    assert re.search(f'href="{site_url}/archive"[^>]*>往期</a>', full.text)
    assert "在浏览器中查看" not in full.text  # it is the page in the browser
    # A reader who joins and is sent the issue later gets the issue as it went out, not the late article.
    _add(site.url, "late@example.org", regions=["湖南"])
    with transaction(site.url) as session:
        session.get_one(models.Issue, issue_id).status = IssueStatus.SENDING
    _send_issue(site)
    late_copy = [m for m in site.smtp.messages if m.rcpt_tos == ["late@example.org"]]
    assert len(late_copy) == 1
    _, text, _ = parse_mail(late_copy[0].data)
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in text and "发出之后才上传的湖南新闻" not in text


def test_an_issue_not_yet_sent_shows_the_week_as_it_stands(site):
    _upload_late(site, "计划之后上传的湖南新闻")
    with transaction(site.url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        assert issue.article_ids is None  # planning fixes nothing: the first copy does


def test_view_in_browser_shows_the_copy_they_got_after_they_change_their_picks(site):
    _add(site.url, "hunan@example.org", regions=["湖南"])
    issue_id = _send_issue(site)
    _, text, _ = parse_mail(site.smtp.messages[0].data)
    with transaction(site.url) as session:
        sub = session.scalar(select(models.Subscription))
        sub.region_codes = ["000000"]  # since then: national news only
    page = site.client.get(link_in(text, f"/issues/{issue_id}/view/"))
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in page.text
    assert "部署全面推进乡村振兴工作" not in page.text
    # The articles are the copy they got; the line that says what they follow says what they follow now.
    assert "您关注：全国｜全部栏目" in page.text and "您关注：湖南" not in page.text


def test_security_headers_and_languages(site):
    page = site.client.get(SUBSCRIBE)
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: the CSP forbids it
    assert "订阅乡村振兴周报" in page.text
    assert "Subscribe to 乡村振兴周报" in site.client.get(SUBSCRIBE + "?lang=en").text
    english = site.client.get(SUBSCRIBE, headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert 'lang="en"' in english.text and "Email address" in english.text


def test_region_search_api(site):
    hits = site.client.get("/api/regions", params={"q": "临泽"}).json()
    assert hits[0]["code"] == "620723" and hits[0]["label"] == "甘肃临泽"
    assert any(h["code"] == "431200" for h in site.client.get("/api/regions", params={"q": "怀化"}).json())
    assert site.client.get("/api/regions", params={"q": ""}).json() == []
    # No-JS search: the same hits, as checkboxes inside the form.
    page = site.client.get(SUBSCRIBE, params={"q": "临泽"})
    assert "甘肃省 › 张掖市 › 临泽县" in page.text


def test_each_subscribe_answer_names_its_own_address_in_its_own_language(site):
    # The answer is rendered once per list and language and the address escaped into it (Web.page_with_blanks).
    first = _subscribe(site.client, "first.reader@example.org")
    tricky = _subscribe(site.client, "o'brien&co@example.org")
    english = _subscribe(site.client, "second.reader@example.org", locale="en")
    english_again = site.client.post(
        SUBSCRIBE + "?lang=en",
        data={
            "email": "third.reader@example.org",
            "region": ["000000"],
            "csrf_token": csrf_from(site.client.get(SUBSCRIBE).text),
        },
    )
    assert all(r.status_code == 200 for r in (first, tricky, english, english_again))
    assert "first.reader@example.org" in first.text and "请查收确认邮件" in first.text
    assert "o&#39;brien&amp;co@example.org" in tricky.text and "first.reader" not in tricky.text
    assert "\x00" not in tricky.text
    assert "Check your inbox" in english_again.text and "third.reader@example.org" in english_again.text
    assert "first.reader" not in english_again.text and 'lang="en"' in english_again.text


def test_a_multipart_subscribe_is_read_as_a_url_encoded_one(site):
    # The guard hands the route a URL-encoded body's fields (guard.posted_form); any other form is read by Starlette.
    token = csrf_from(site.client.get(SUBSCRIBE).text)
    fields = {"email": "multi.part@example.org", "region": "000000", "csrf_token": token}
    answer = site.client.post(SUBSCRIBE, data=fields, files={"unused": ("x.txt", b"", "text/plain")})
    assert answer.status_code == 200 and "multi.part@example.org" in answer.text
    assert answer.request.headers["content-type"].startswith("multipart/form-data")
    with transaction(site.url) as session:
        row = session.scalar(
            select(models.Subscription)
            .join(models.Subscriber)
            .where(models.Subscriber.email == "multi.part@example.org")
        )
        assert row is not None and row.region_codes == ["000000"]
