"""The console's sender page (both databases): the rates against the thresholds in words, the suppressions with
the event that decided, the unread mail's raw source shown as text and cut, its dismissal behind CSRF, the
sources' health; admins only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import insert, select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.statuses import IssueStatus
from digest.services.lists import ensure_default_list

# The site's clock says 2026-11-23 02:00 UTC (webutil.SITE_NOW): week 2026-W48 began at midnight.
SENT_AT = datetime(2026, 11, 23, 1, tzinfo=UTC)
HOSTILE = b"""From: "<b>x</b>" <postmaster@example.net>
Subject: =?utf-8?q?not_a_bounce?=
Content-Type: text/html

<script>alert("raw")</script><img src=x onerror=alert(1)>
"""


def sender_rows(url: str) -> dict[str, int]:
    """An issue of 100 copies that left (97 sent, 3 refused during the send) with one complaint and one hard bounce
    (Postmark's event, which suppressed the address), a hostile unparsed mail, a stale mailbox and a failing webhook."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        issue = models.Issue(
            list_id=ml.id, number=7, period_start=date(2026, 11, 9), period_end=date(2026, 11, 15),
            status=IssueStatus.SENT, finished_at=SENT_AT,
        )  # fmt: skip
        session.add(issue)
        session.execute(insert(models.Subscriber), [{"email": f"r{i}@example.org"} for i in range(100)])
        session.flush()
        people = session.scalars(select(models.Subscriber.id).where(models.Subscriber.email.like("r%@example.org")))
        session.execute(
            insert(models.Delivery),
            [
                {"issue_id": issue.id, "subscriber_id": p, "status": "bounced" if i < 3 else "sent",
                 "sent_at": None if i < 3 else SENT_AT, "updated_at": SENT_AT}
                for i, p in enumerate(people)
            ],
        )  # fmt: skip
        common = {"issue_id": issue.id, "list_id": ml.id, "decision": "suppressed", "created_at": SENT_AT}
        complaint = models.MailEventRow(key="c1", kind="complaint", source="mailbox", email="r50@example.org", **common)
        bounce = models.MailEventRow(
            key="b1", kind="hard_bounce", source="postmark", email="gone@example.org", status="5.1.1",
            detail="<i>mailbox unknown</i>", **common,
        )  # fmt: skip
        session.add_all([complaint, bounce])
        session.flush()
        suppression = models.Suppression(
            email="gone@example.org", reason="hard bounce 5.1.1", kind="hard_bounce", event_id=bounce.id
        )
        mail = models.InboundMail(
            mailbox="imaps://bounces@mail.example.org/INBOX", ref="<m1@example.net>",
            sender='"<b>x</b>" <postmaster@example.net>', subject="<img src=x onerror=alert(2)>",
            why="no DSN, no ARF, no token", raw=HOSTILE, received_at=SENT_AT,
        )  # fmt: skip
        session.add_all([suppression, mail])
        session.add_all(
            [
                models.LoopSource(name="mailbox", last_seen_at=SENT_AT - timedelta(hours=2), counts={"mails": 3},
                                  runs=5),
                models.LoopSource(name="ses", last_ok_at=SENT_AT - timedelta(hours=1), last_error_at=SENT_AT,
                                  last_error="<u>signature refused</u>", counts={}, runs=2),
            ]
        )  # fmt: skip
        session.flush()
        return {"issue": issue.id, "suppression": suppression.id, "mail": mail.id, "event": bounce.id}


def _admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    client = site.new_client()
    assert sign_in(client, ZHOU_ADMIN).status_code == 303
    return client


def test_the_page_holds_the_rates_against_the_thresholds_in_words(site):
    ids = sender_rows(site.url)
    client = _admin(site)
    page = client.get("/admin/sender?lang=en")
    assert page.status_code == 200
    html = page.text
    row = html[html.index(f'<tr data-issue="{ids["issue"]}">') :].split("</tr>")[0]
    # 100 copies left, 3 refused, 1 hard bounce, 1 complaint: 4 % bounces (over 2 %), 1 % complaints (over 0.3 %).
    cells = [c.split(">", 1)[1].split("<")[0].strip() for c in row.split('<td class="num')[1:8]]
    assert cells == ["100", "3", "1", "0", "1", "0", "0"]
    assert "4.00%<br><strong>at or over the 2% warning level</strong>" in row
    assert "1.00%<br><strong>at or over the 0.3% limit</strong>" in row
    week = html[html.index('<tr data-week="2026-W48">') :].split("</tr>")[0]
    assert "4.00%" in week and "at or over the 2% warning level" in week
    quiet = html[html.index('<tr data-week="2026-W47">') :].split("</tr>")[0]
    assert "nothing sent" in quiet and "warning level" not in quiet
    assert "stay below 0.1% and never reach 0.3%" in html and "not a provider&#39;s rule" in html
    chinese = client.get("/admin/sender?lang=zh-CN").text
    assert "已达到或超过 2% 警戒线" in chinese and "已达到或超过 0.3% 上限" in chinese


def test_the_page_shows_suppressions_with_their_event_and_sources_health_escaped(site):
    ids = sender_rows(site.url)
    client = _admin(site)
    html = client.get("/admin/sender?lang=en").text
    supp = html[html.index(f'<tr data-id="{ids["suppression"]}">') :].split("</tr>")[0]
    assert "gone@example.org" in supp and "a hard bounce" in supp
    assert f"event {ids['event']}, from postmark" in supp
    assert "5.1.1" in supp and "&lt;i&gt;mailbox unknown&lt;/i&gt;" in supp and "<i>" not in supp
    assert 'href="/admin/suppressions"' in html
    full = client.get("/admin/suppressions?lang=en").text
    listed = full[full.index(f'<tr data-id="{ids["suppression"]}">') :].split("</tr>")[0]
    assert "a hard bounce" in listed and f"event {ids['event']}, from postmark" in listed and "5.1.1" in listed
    mailbox = html[html.index('<tr data-source="mailbox">') :].split("</tr>")[0]
    assert "stopped: not read for over 6 minutes" in mailbox
    ses = html[html.index('<tr data-source="ses">') :].split("</tr>")[0]
    assert "failing" in ses and "&lt;u&gt;signature refused&lt;/u&gt;" in ses and "<u>" not in ses
    # Undo, from the sender page, is the suppression page's own form.
    action = f"/admin/suppressions/{ids['suppression']}/delete"
    undone = client.post(action, data={"csrf_token": form_csrf(html, action)}, follow_redirects=False)
    assert undone.status_code == 303
    with transaction(site.url) as session:
        assert session.get(models.Suppression, ids["suppression"]) is None


def test_a_raw_mail_is_shown_as_text_never_as_html(site):
    ids = sender_rows(site.url)
    client = _admin(site)
    listing = client.get("/admin/sender").text
    assert "<img src=x" not in listing and "&lt;img src=x onerror=alert(2)&gt;" in listing
    raw = client.get(f"/admin/sender/mail/{ids['mail']}")
    assert raw.status_code == 200
    assert "<script>alert" not in raw.text and "onerror=alert(1)>" not in raw.text
    assert "&lt;script&gt;alert(&#34;raw&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in raw.text
    pre = raw.text[raw.text.index('<pre id="raw-source"') :].split("</pre>")[0]
    assert "Subject: =?utf-8?q?not_a_bounce?=" in pre and 'id="sender-cut"' not in raw.text
    assert client.get("/admin/sender/mail/999999").status_code == 404


def test_a_long_raw_mail_is_cut_at_200_kb(site):
    with transaction(site.url) as session:
        body = b"Subject: long\n\n" + b"a" * (300 * 1024) + b"THE-END"
        mail = models.InboundMail(mailbox="maildir:///var/mail/b", ref="long", raw=body, received_at=SENT_AT)
        session.add(mail)
        session.flush()
        mail_id = mail.id
    client = _admin(site)
    page = client.get(f"/admin/sender/mail/{mail_id}?lang=en").text
    assert "THE-END" not in page and 'id="sender-cut"' in page
    assert f"Only the first 200 KB are shown, of {len(body)} bytes" in page
    pre = page.split('<pre id="raw-source" tabindex="0">')[1].split("</pre>")[0]
    assert pre == "Subject: long\n\n" + "a" * (200 * 1024 - len("Subject: long\n\n"))


def _dismissed_at(url: str, mail_id: int):
    with transaction(url) as session:
        return session.get(models.InboundMail, mail_id).dismissed_at


def test_dismissing_needs_the_forms_csrf_token(site):
    ids = sender_rows(site.url)
    client = _admin(site)
    action = f"/admin/sender/mail/{ids['mail']}/dismiss"
    for data in ({}, {"csrf_token": "forged"}):
        refused = client.post(action, data=data, follow_redirects=False)
        assert refused.status_code == 403, data
    assert _dismissed_at(site.url, ids["mail"]) is None
    html = client.get("/admin/sender").text
    # A token for another mail's button does not dismiss this one.
    other = client.post(f"/admin/sender/mail/{ids['mail'] + 1}/dismiss", data={"csrf_token": form_csrf(html, action)})
    assert other.status_code == 403
    assert _dismissed_at(site.url, ids["mail"]) is None
    done = client.post(action, data={"csrf_token": form_csrf(html, action)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/admin/sender?done=dismissed#unparsed"
    assert _dismissed_at(site.url, ids["mail"]) == datetime(2026, 11, 23, 2, tzinfo=UTC)  # the site's clock
    after = client.get("/admin/sender?done=dismissed&lang=en").text
    assert "Dismissed." in after and f'action="{action}"' not in after and "Mail nobody could read (0)" in after
    assert "Dismissed at 2026-11-23 02:00 UTC" in client.get(f"/admin/sender/mail/{ids['mail']}?lang=en").text


def test_only_admins_see_the_sender_page(site):
    ids = sender_rows(site.url)
    add_staff(site.url, SUN_EDITOR)
    editor = site.new_client()
    assert sign_in(editor, SUN_EDITOR).status_code == 303
    assert 'href="/admin/sender"' not in editor.get("/admin/").text
    for path in ("/admin/sender", f"/admin/sender/mail/{ids['mail']}"):
        assert editor.get(path).status_code == 403
    anonymous = site.new_client().get("/admin/sender", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/admin/login")
    assert 'href="/admin/sender"' in _admin(site).get("/admin/").text


def test_the_page_says_where_each_lists_bounces_go_and_whether_dkim_aligns(site, tmp_path):
    import dataclasses

    from digest.core.bounces.settings import LoopSettings

    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    with transaction(site.url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@news.example.org"
        other = models.MailingList(
            slug="other", name="Other", sender_email="hi@elsewhere.example", bounce_domain="b.elsewhere.example"
        )
        session.add(other)
    web = site.client.app.state.web
    loop = LoopSettings(bounce_domain="bounce.example.org", dkim_selector="s1", dkim_domain="example.org",
                        dkim_key_file=tmp_path / "key.pem")  # fmt: skip
    web.settings = dataclasses.replace(web.settings, loop=loop)
    page = site.client.get("/admin/sender", headers={"Accept-Language": "en"}).text
    weekly = page.split(f'data-list="{ml.slug}"')[1].split("</tr>")[0]
    elsewhere = page.split('data-list="other"')[1].split("</tr>")[0]
    assert (
        "bounces+…@bounce.example.org (the site&#39;s)" in weekly
        or "bounces+…@bounce.example.org (the site's)" in weekly
    )
    assert "signed as example.org, aligned with the sender" in weekly
    assert "bounces+…@b.elsewhere.example" in elsewhere and "(the site" not in elsewhere
    assert "signed as example.org, which is not the sender&#39;s domain: DMARC will fail" in elsewhere
