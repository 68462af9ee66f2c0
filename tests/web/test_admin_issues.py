"""Admin issue pages: plan, steer, send now, the delivery log, previews with reasons, test sends
(SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from personas import ALL, LI_HUNAN, LIU_TOPICS, SUN_EDITOR, ZHAO_NOTHING, ZHOU_ADMIN
from sqlalchemy import func, select
from webutil import PERIOD_END, add_staff, form_csrf, parse_mail, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.regions import load_regions
from digest.services.delivery.now import background_send
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription
from digest.web.security import csrf_token

REGIONS = load_regions()
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _people(url, personas=ALL):
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


def _issue(url) -> int:
    with transaction(url) as session:
        return plan_issue(session, ensure_default_list(session), PERIOD_END).id


def _status(url, issue_id) -> str:
    with transaction(url) as session:
        return session.get(models.Issue, issue_id).status


def _deliveries(url) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(models.Delivery))


def _signed_in(site, staff=SUN_EDITOR):
    add_staff(site.url, staff)
    sign_in(site.client, staff)
    return site.client


def _post(client, page_path, action, data=None):
    token = form_csrf(client.get(page_path).text, action)
    return client.post(action, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def _confirmed(client, action):
    """Sending and cancelling ask first: the question's own form, posted with its `confirm`."""
    return _post(client, action, action, {"confirm": "yes"})


def test_a_stranger_is_sent_to_sign_in(site):
    issue_id = _issue(site.url)
    for path in ("/admin/issues", f"/admin/issues/{issue_id}", f"/admin/issues/{issue_id}/preview"):
        response = site.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/admin/login"), path


def test_an_editor_plans_an_issue_for_a_date_and_planning_twice_makes_one(site):
    client = _signed_in(site)
    page = client.get("/admin/issues")
    assert page.status_code == 200 and "这个列表还没有期刊" in page.text
    response = _post(client, "/admin/issues", "/admin/issues", {"list": "rural-weekly", "period_end": "2026-11-22"})
    assert response.status_code == 303
    issue_id = int(response.headers["location"].rsplit("/", 1)[1])
    again = _post(client, "/admin/issues", "/admin/issues", {"list": "rural-weekly", "period_end": "2026-11-22"})
    assert again.headers["location"] == f"/admin/issues/{issue_id}"
    with transaction(site.url) as session:
        [issue] = session.scalars(select(models.Issue)).all()
        assert (issue.number, str(issue.period_start), str(issue.period_end)) == (1, "2026-11-16", "2026-11-22")
    index = client.get("/admin/issues")
    assert "第1期" in index.text and "2026-11-16 – 2026-11-22" in index.text and "已计划" in index.text


@pytest.mark.clock
def test_the_form_offers_the_lists_today_by_the_sites_clock(site):
    client = _signed_in(site)
    assert 'name="period_end" value="2026-11-23"' in client.get("/admin/issues").text  # SITE_NOW, in Shanghai
    site.settings.clock.set(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))  # 00:30 on the 24th in Shanghai
    assert 'name="period_end" value="2026-11-24"' in client.get("/admin/issues").text
    with transaction(site.url) as session:
        ensure_default_list(session).time_zone = "America/Los_Angeles"  # still 08:30 on the 23rd there
    assert 'name="period_end" value="2026-11-23"' in client.get("/admin/issues").text


def test_a_bad_date_is_named_and_nothing_is_planned(site):
    client = _signed_in(site)
    for value, words in (("22/11/2026", "截止日期无效"), ("0001-01-01", "2000 年至 2100 年"), ("", "截止日期无效")):
        response = _post(client, "/admin/issues", "/admin/issues", {"list": "rural-weekly", "period_end": value})
        assert response.status_code == 400 and words in response.text, value
        assert f'value="{value}"' in response.text  # what was typed stays in the field
    unknown = _post(client, "/admin/issues", "/admin/issues", {"list": "no-such-list", "period_end": "2026-11-22"})
    assert unknown.status_code == 404
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Issue)) == 0


def test_posts_without_csrf_are_refused_and_change_nothing(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site)
    client.get(f"/admin/issues/{issue_id}")
    for action in ("pause", "cancel", "send"):
        response = client.post(f"/admin/issues/{issue_id}/{action}", data={}, follow_redirects=False)
        assert response.status_code == 403
        # A token for another form does not open this one.
        other = form_csrf(client.get(f"/admin/issues/{issue_id}").text, f"/admin/issues/{issue_id}/pause")
        if action != "pause":
            assert client.post(f"/admin/issues/{issue_id}/{action}", data={"csrf_token": other}).status_code == 403
    plan = client.post("/admin/issues", data={"list": "rural-weekly", "period_end": "2026-11-29"})
    test = client.post(f"/admin/issues/{issue_id}/test", data={"to": "x@example.org"})
    assert plan.status_code == test.status_code == 403
    assert _status(site.url, issue_id) == "planned" and _deliveries(site.url) == 0
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).select_from(models.Issue)) == 1
    assert site.smtp.messages == []


def test_pause_resume_cancel_and_a_friendly_refusal_on_the_wrong_state(site):
    issue_id = _issue(site.url)
    client = _signed_in(site)
    path = f"/admin/issues/{issue_id}"
    response = _post(client, path, f"{path}/pause")
    assert response.status_code == 303 and response.headers["location"] == f"{path}?notice=paused"
    assert _status(site.url, issue_id) == "paused"
    page = client.get(response.headers["location"])
    assert "已暂停。尚未发出的邮件会等到继续发送后再发" in page.text
    assert f'action="{path}/pause"' not in page.text and f'action="{path}/resume"' in page.text
    _post(client, path, f"{path}/resume")
    assert _status(site.url, issue_id) == "sending"
    _confirmed(client, f"{path}/cancel")
    assert _status(site.url, issue_id) == "cancelled"
    # The button is gone now, but a stale page can still post: the refusal is a sentence, not a 500.
    stale = csrf_token(
        site.settings.secret_key, client.cookies["digest_csrf"], "iss-pause", client.cookies["digest_admin"]
    )
    refused = client.post(f"{path}/pause", data={"csrf_token": stale})
    assert refused.status_code == 409
    assert "第1期当前状态为「已取消」，无法执行“暂停”" in refused.text
    session = client.cookies["digest_admin"]
    english = client.post(
        f"{path}/resume?lang=en",
        data={"csrf_token": csrf_token(site.settings.secret_key, client.cookies["digest_csrf"], "iss-resume", session)},
    )
    assert english.status_code == 409 and "Issue 1 is Cancelled: “Resume” is not possible now." in english.text
    assert _status(site.url, issue_id) == "cancelled"


def test_send_now_does_what_digest_send_does_and_the_log_shows_every_row(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site)
    path = f"/admin/issues/{issue_id}"
    response = _confirmed(client, f"{path}/send")
    assert response.status_code == 303 and response.headers["location"] == f"{path}?notice=send_background"
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(30)
    assert _status(site.url, issue_id) == "sent"
    assert sorted(r for m in site.smtp.messages for r in m.rcpt_tos) == sorted(
        p.email for p in ALL if p != ZHAO_NOTHING
    )
    page = client.get(path)
    assert "已发送" in page.text and page.text.count("<tr>") >= 7
    with transaction(site.url) as session:
        mid = session.scalar(
            select(models.Delivery.message_id).join(models.Subscriber).where(models.Subscriber.email == LI_HUNAN.email)
        )
    assert mid and mid.replace("<", "&lt;").replace(">", "&gt;") in page.text
    skipped = client.get(f"{path}?status=skipped")
    assert ZHAO_NOTHING.email in skipped.text and LI_HUNAN.email not in skipped.text
    assert "本周没有符合其选择的文章" in skipped.text and "no article" not in skipped.text
    bad = client.get(f"{path}?status=nonsense")
    assert bad.status_code == 200 and "没有这种投递状态" in bad.text and LI_HUNAN.email in bad.text


def test_the_log_pages_through_many_rows(site):
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        for i in range(60):
            upsert_subscription(session, ml, REGIONS, email=f"r{i:02}@example.org", status="confirmed")
        issue = plan_issue(session, ml, PERIOD_END)
        from digest.services.enqueue import enqueue_deliveries

        enqueue_deliveries(session, issue)
        issue_id = issue.id
    client = _signed_in(site)
    first = client.get(f"/admin/issues/{issue_id}?status=pending")
    assert "r00@example.org" in first.text and "r50@example.org" not in first.text and "第 1 / 2 页" in first.text
    second = client.get(f"/admin/issues/{issue_id}?status=pending&page=2")
    assert "r50@example.org" in second.text and "r00@example.org" not in second.text
    # The page's own links carry cursors; the page number alone (older links) still answers the same rows.
    following = re.search(r'href="([^"]+)#log" rel="next"', first.text).group(1).replace("&amp;", "&")
    assert "after=" in following and client.get(following).text.count("@example.org") == second.text.count(
        "@example.org"
    )
    assert "r50@example.org" in client.get(following).text and 'rel="next"' not in second.text
    back = re.search(r'href="([^"]+)#log" rel="prev"', second.text).group(1).replace("&amp;", "&")
    assert "before=" in back and "r00@example.org" in client.get(back).text
    assert client.get(f"/admin/issues/{issue_id}?page=0").status_code == 400


def test_the_preview_shows_the_subscribers_digest_and_why_each_article_is_in_or_out(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site)
    page = client.get(f"/admin/issues/{issue_id}/preview", params={"email": LI_HUNAN.email})
    assert page.status_code == 200
    assert "frame-src 'self'" in page.headers["content-security-policy"]
    assert page.text.count('class="is-in"') == 3 and page.text.count('class="is-out"') == 13
    assert "湖南怀化位于所选的湖南之内" in page.text
    assert "全国与所选地区（湖南）没有交集" in page.text
    assert "沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期" in page.text
    frame = re.search(r'<iframe class="ops-frame" sandbox="" src="([^"]+)"', page.text).group(1)
    digest = client.get(frame.replace("&amp;", "&"))
    assert digest.status_code == 200 and "沅陵县创办全国首家乡村振兴金融服务组织" in digest.text
    assert "frame-ancestors 'self'" in digest.headers["content-security-policy"]
    assert "script-src 'none'" in digest.headers["content-security-policy"]
    english = client.get(f"/admin/issues/{issue_id}/preview", params={"email": LI_HUNAN.email, "lang": "en"})
    assert "湖南怀化 lies inside picked 湖南" in english.text and "3 in, 13 out." in english.text
    topics = client.get(f"/admin/issues/{issue_id}/preview", params={"email": ZHAO_NOTHING.email})
    assert "未选择栏目「产业发展」" in topics.text and "本期没有符合其选择的文章" in topics.text
    assert "<iframe" not in topics.text
    assert (
        client.get(f"/admin/issues/{issue_id}/preview/digest", params={"email": ZHAO_NOTHING.email}).status_code == 404
    )
    stranger = client.get(f"/admin/issues/{issue_id}/preview", params={"email": "nobody@example.org"})
    assert stranger.status_code == 404 and "nobody@example.org 没有订阅这个列表" in stranger.text
    assert client.get(f"/admin/issues/{issue_id}/preview", params={"email": "not an address"}).status_code == 400


def test_titles_and_names_come_out_escaped_in_the_preview_and_the_log(site):
    _people(site.url, [LIU_TOPICS])
    with transaction(site.url) as session:
        article = session.scalar(select(models.Article).where(models.Article.title == "“兴农贷”助推乡村振兴"))
        article.title = XSS
        session.scalar(select(models.Subscriber)).name = XSS
    issue_id = _issue(site.url)
    client = _signed_in(site)
    path = f"/admin/issues/{issue_id}"
    _confirmed(client, f"{path}/send")
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(30)
    for page in (client.get(f"{path}/preview", params={"email": LIU_TOPICS.email}), client.get(path)):
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page.text


def test_a_test_send_reaches_the_typed_address_marked_as_a_test_and_the_ledger_stays_empty(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site)
    preview = f"/admin/issues/{issue_id}/preview?email={LI_HUNAN.email}"
    response = _post(
        client, preview, f"/admin/issues/{issue_id}/test", {"to": "checker@example.net", "email": LI_HUNAN.email}
    )
    assert response.status_code == 200 and "测试邮件（3 篇文章）已发送至 checker@example.net" in response.text
    [received] = site.smtp.messages
    assert received.rcpt_tos == ["checker@example.net"]
    msg, text, _ = parse_mail(received.data)
    assert msg["Subject"] == "[测试] 沅陵县创办全国首家乡村振兴金融服务组织 等3篇 · 第1期"
    assert msg["To"] == "李伟 <checker@example.net>"
    assert "沅陵县创办全国首家乡村振兴金融服务组织" in text and "部署全面推进乡村振兴工作" not in text
    assert _deliveries(site.url) == 0 and _status(site.url, issue_id) == "planned"


def test_a_test_address_with_a_header_injection_is_refused_and_nothing_is_sent(site):
    _people(site.url)
    issue_id = _issue(site.url)
    client = _signed_in(site)
    page = f"/admin/issues/{issue_id}/preview"
    for bad in ("a@b.c\r\nBcc: x@y.z", "a@example.org, b@example.org", "nobody", "A <a@example.org>"):
        response = _post(client, page, f"/admin/issues/{issue_id}/test", {"to": bad})
        assert response.status_code == 400 and "测试收件地址无效" in response.text, bad
    assert site.smtp.messages == []


def test_an_unknown_issue_is_a_404_and_a_bad_id_a_400(site):
    client = _signed_in(site, ZHOU_ADMIN)
    assert client.get("/admin/issues/999").status_code == 404
    assert client.get("/admin/issues/abc").status_code == 400
    assert client.get("/admin/issues/99999999999").status_code == 400


def _break_name(url, persona, name):
    # Stored as an old import or a direct edit might have left it: the form would refuse it.
    with transaction(url) as session:
        session.scalar(select(models.Subscriber).where(models.Subscriber.email == persona.email)).name = name


def _send_now(client, issue_id):
    path = f"/admin/issues/{issue_id}"
    response = _confirmed(client, f"{path}/send")
    assert response.status_code == 303
    _wait(issue_id)


def _wait(issue_id):
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(30)


def test_an_admin_sends_the_failed_deliveries_again_and_each_subscriber_gets_one_message(site):
    _people(site.url)
    _break_name(site.url, LI_HUNAN, "李\nBcc: everyone@example.org")
    issue_id = _issue(site.url)
    path = f"/admin/issues/{issue_id}"
    admin = _signed_in(site, ZHOU_ADMIN)
    _send_now(admin, issue_id)
    received = sorted(r for m in site.smtp.messages for r in m.rcpt_tos)
    assert received == sorted(p.email for p in ALL if p not in (ZHAO_NOTHING, LI_HUNAN))
    page = admin.get(path).text
    assert "重新发送失败的投递（1）" in page and "recipient name contains a line break" in page

    editor = site.new_client()
    add_staff(site.url, SUN_EDITOR)
    sign_in(editor, SUN_EDITOR)
    assert "重新发送失败的投递" not in editor.get(path).text  # the button is an admin's
    token = csrf_token(
        site.settings.secret_key, editor.cookies["digest_csrf"], "iss-retry", editor.cookies["digest_admin"]
    )
    refused = editor.post(f"{path}/retry", data={"csrf_token": token, "status": "failed"}, follow_redirects=False)
    assert refused.status_code == 403
    with transaction(site.url) as session:
        assert session.scalar(select(func.count()).where(models.Delivery.status == "failed")) == 1

    _break_name(site.url, LI_HUNAN, LI_HUNAN.name)
    response = _post(admin, path, f"{path}/retry", {"status": "failed"})
    assert response.status_code == 303 and response.headers["location"] == f"{path}?notice=send_background"
    _wait(issue_id)
    received = sorted(r for m in site.smtp.messages for r in m.rcpt_tos)
    assert received == sorted(p.email for p in ALL if p != ZHAO_NOTHING)  # 李伟 once, nobody twice
    assert _status(site.url, issue_id) == "sent"
    page = admin.get(path).text
    assert "重新发送失败的投递" not in page

    # Nothing failed any more: a retry (a second tab, a double click) sends nothing.
    token = csrf_token(
        site.settings.secret_key, admin.cookies["digest_csrf"], "iss-retry", admin.cookies["digest_admin"]
    )
    again = admin.post(f"{path}/retry", data={"csrf_token": token, "status": "failed"}, follow_redirects=False)
    assert again.headers["location"] == f"{path}?notice=retry_none"
    assert len(site.smtp.messages) == len(ALL) - 1
    assert "没有可重新发送的投递" in admin.get(again.headers["location"]).text
    wrong = admin.post(f"{path}/retry", data={"csrf_token": token, "status": "sent"})
    assert wrong.status_code == 400 and "只能重新发送" in wrong.text
    without = admin.post(f"{path}/retry", data={"status": "failed"})
    assert without.status_code == 403


def test_a_cancelled_issue_offers_no_retry_and_refuses_one(site):
    _people(site.url)
    _break_name(site.url, LI_HUNAN, "李\n伟")
    issue_id = _issue(site.url)
    path = f"/admin/issues/{issue_id}"
    admin = _signed_in(site, ZHOU_ADMIN)
    _send_now(admin, issue_id)
    token = form_csrf(admin.get(path).text, f"{path}/retry")
    with transaction(site.url) as session:
        issue = session.get(models.Issue, issue_id)
        issue.status = "cancelled"  # as cancelling a paused issue with a failed row leaves it
    assert "重新发送失败的投递" not in admin.get(path).text
    refused = admin.post(f"{path}/retry", data={"csrf_token": token, "status": "failed"})
    assert refused.status_code == 409 and "无法执行“重新发送”" in refused.text
    with transaction(site.url) as session:
        failed = session.scalar(select(func.count()).where(models.Delivery.status == "failed"))
    assert failed == 1


def test_the_issues_page_says_which_slot_the_tick_let_pass_and_why(site):
    from datetime import timedelta

    from digest.services.issues import plan_due_issues

    client = _signed_in(site)
    assert 'id="missed-slot"' not in client.get("/admin/issues").text
    # The scheduler came back on Monday 23 November at 18:00 in Shanghai: ten hours after the 08:00 slot.
    back = datetime(2026, 11, 23, 10, tzinfo=UTC)
    with transaction(site.url) as session:
        assert plan_due_issues(session, back) == []
    page = client.get("/admin/issues")
    assert 'id="missed-slot"' in page.text
    assert "2026-11-23 08:00 那一期（截至 2026-11-22）没有发送" in page.text and "晚了 10.0 小时" in page.text
    assert "补发时限（6 小时）" in page.text and "下一期按计划在 2026-11-30 发送" in page.text
    english = client.get("/admin/issues?lang=en").text
    assert "The issue of 2026-11-23 08:00 (the week ending 2026-11-22) was not sent" in english
    assert "10.0 hours after its slot" in english and "catch-up window (6 hours)" in english
    # Within a larger window the same return sends the slot, and the page names no missed slot of it.
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.catch_up_hours, ml.missed_slot_at, ml.missed_noticed_at = 12, None, None
    with transaction(site.url) as session:
        assert len(plan_due_issues(session, back + timedelta(minutes=1))) == 1
    assert 'id="missed-slot"' not in client.get("/admin/issues").text
