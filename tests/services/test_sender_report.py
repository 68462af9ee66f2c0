"""The sender page's figures, counted by the database (SQLite and PostgreSQL) from ledger rows and mail events
written here: rates per issue and per week, the thresholds' flags, the unread mail, the sources' health."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy import event, insert, select, text

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services import NotFound
from digest.services.lists import ensure_default_list
from digest.services.sender_report import (
    Figures,
    dismiss_inbound_mail,
    issue_rates,
    sources_health,
    unparsed_mail,
    unparsed_mails,
    week_rates,
)
from digest.services.suppressions import find_suppressions

pytestmark = pytest.mark.clock

# A Wednesday: the current ISO week (2026-W48) began on Monday the 23rd, 00:00 UTC.
NOW = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
_keys = count(1)


def _list(session, slug: str | None = None) -> models.MailingList:
    if slug is None:
        return ensure_default_list(session)
    ml = models.MailingList(slug=slug, name=f"List {slug}", sender_email=f"{slug}@example.org")
    session.add(ml)
    session.flush()
    return ml


def _issue(session, ml, number: int, period_end: date, **values) -> models.Issue:
    values.setdefault("status", IssueStatus.SENT)
    issue = models.Issue(list_id=ml.id, number=number, period_end=period_end, period_start=period_end, **values)
    session.add(issue)
    session.flush()
    return issue


def _subscribers(session, n: int, prefix: str) -> list[int]:
    session.execute(insert(models.Subscriber), [{"email": f"{prefix}{i}@example.org", "name": ""} for i in range(n)])
    return list(
        session.scalars(select(models.Subscriber.id).where(models.Subscriber.email.like(f"{prefix}%")).order_by("id"))
    )


def _deliveries(session, issue, people: list[int], statuses: dict[str, int], at: datetime | None = None):
    """`statuses` = {status: how many}, taken from `people` in order; sent ones left at `at`, refused ones were
    refused then (their updated_at)."""
    rows, taken = [], iter(people)
    for status, n in statuses.items():
        for _ in range(n):
            row = {"issue_id": issue.id, "subscriber_id": next(taken), "status": status}
            if at is not None:
                row["updated_at"] = at
                row["sent_at"] = at if status == DeliveryStatus.SENT else None
            rows.append(row)
    session.execute(insert(models.Delivery), rows)


def _event(session, kind: str, email: str | None, issue=None, **values) -> models.MailEventRow:
    values.setdefault("source", "mailbox")
    values.setdefault("decision", "nothing")
    row = models.MailEventRow(
        key=f"k{next(_keys)}",
        kind=kind,
        email=email,
        issue_id=issue.id if issue else None,
        list_id=issue.list_id if issue else None,
        **values,
    )
    session.add(row)
    session.flush()
    return row


def _two_issues_and_another_list(url):
    """Issue 1: 1,000 copies left (985 sent, 15 refused), 5 failed and 5 suppressed, which did not leave;
    issue 2: 500 sent. Another list's issue: 100 sent. A planned issue: nothing."""
    with transaction(url) as session:
        ml, other = _list(session), _list(session, "other")
        people = _subscribers(session, 1010, "p")
        first = _issue(session, ml, 1, date(2026, 11, 15))
        second = _issue(session, ml, 2, date(2026, 11, 22))
        _issue(session, ml, 3, date(2026, 11, 29), status=IssueStatus.PLANNED)
        theirs = _issue(session, other, 1, date(2026, 11, 22))
        _deliveries(session, first, people, {"sent": 985, "bounced": 15, "failed": 5, "suppressed": 5})
        _deliveries(session, second, people, {"sent": 500, "pending": 3})
        _deliveries(session, theirs, people, {"sent": 100})
        for i in range(5):
            _event(session, "hard_bounce", f"p{i}@example.org", first, status="5.1.1")
        _event(session, "hard_bounce", "P0@example.org", first, source="ses")  # the same bounce, twice reported
        for i in range(3):
            _event(session, "complaint", f"p{10 + i}@example.org", first)
        _event(session, "soft_bounce", "p20@example.org", first, status="4.2.2")
        _event(session, "soft_bounce", "p20@example.org", first, status="4.2.2")  # its retry's DSN
        _event(session, "soft_bounce", "p21@example.org", first)
        _event(session, "unsubscribe", "p30@example.org", first)
        _event(session, "auto_reply", "p31@example.org", first)
        for i in range(9):
            _event(session, "hard_bounce", f"p{100 + i}@example.org", second)
        _event(session, "complaint", None, second)  # an ARF report that named nobody still counts
        _event(session, "complaint", "p1@example.org", None)  # nor delivery nor issue: in no issue's figures
        return ml.id, other.id, first.id, second.id, theirs.id


def test_rates_per_issue_count_copies_that_left_and_each_recipient_once(database_url):
    ml_id, _, first_id, second_id, theirs_id = _two_issues_and_another_list(database_url)
    with transaction(database_url) as session:
        mine = issue_rates(session, ml_id)
        everyone = issue_rates(session)
        two = issue_rates(session, issues=2)
    assert [r.issue_id for r in mine] == [second_id, first_id]  # newest first; the planned one has no figures
    second, first = mine
    assert first.figures == Figures(
        sent=1000, refused=15, hard_bounces=5, soft_bounces=2, complaints=3, unsubscribes=1, auto_replies=1
    )
    assert (first.figures.bounces, first.figures.bounce_rate, first.figures.complaint_rate) == (20, 0.02, 0.003)
    # 2 % bounces is at the warning level; 0.3 % complaints is at Gmail's and Yahoo's limit.
    assert (first.figures.bounce_over_warning, first.figures.complaint_over_target) == (True, True)
    assert first.figures.complaint_over_limit is True
    assert second.figures == Figures(sent=500, hard_bounces=9, complaints=1)
    assert (second.figures.bounce_rate, second.figures.complaint_rate) == (0.018, 0.002)
    assert second.figures.bounce_over_warning is False
    assert (second.figures.complaint_over_target, second.figures.complaint_over_limit) == (True, False)
    assert (second.number, second.period_end, second.list_slug) == (2, date(2026, 11, 22), "rural-weekly")
    assert {r.issue_id for r in everyone} == {first_id, second_id, theirs_id}
    theirs = next(r for r in everyone if r.issue_id == theirs_id)
    assert (theirs.list_slug, theirs.figures) == ("other", Figures(sent=100))
    assert not (theirs.figures.bounce_over_warning or theirs.figures.complaint_over_target)
    assert [r.period_end for r in two] == [date(2026, 11, 22)] * 2


def test_thresholds_are_compared_exactly_and_nothing_sent_flags_nothing():
    assert Figures(sent=1000, complaints=1).complaint_over_target is True  # 0.1 % is not below 0.1 %
    assert Figures(sent=1001, complaints=1).complaint_over_target is False
    assert Figures(sent=1000, complaints=2).complaint_over_limit is False
    assert Figures(sent=50, hard_bounces=0, refused=1).bounce_over_warning is True
    assert Figures(sent=51, refused=1).bounce_over_warning is False
    empty = Figures(complaints=1)
    assert (empty.bounce_rate, empty.complaint_rate, empty.complaint_over_target) == (None, None, False)
    shown = Figures(sent=1000, refused=15, hard_bounces=5, complaints=3).as_dict()
    assert shown["bounces"] == 20 and shown["bounce_rate"] == 0.02 and shown["complaint_over_limit"] is True


def _weeks(url):
    """Copies and events in weeks 45 to 48 of 2026, and some before the twelve weeks shown."""
    with transaction(url) as session:
        ml, other = _list(session), _list(session, "other")
        people = _subscribers(session, 400, "w")
        old = _issue(session, ml, 1, date(2026, 8, 2), finished_at=datetime(2026, 8, 3, tzinfo=UTC))
        _deliveries(session, old, people, {"sent": 50}, at=datetime(2026, 8, 3, tzinfo=UTC))
        _event(session, "complaint", "w1@example.org", old, created_at=datetime(2026, 8, 4, tzinfo=UTC))
        w46 = _issue(session, ml, 2, date(2026, 11, 8), finished_at=datetime(2026, 11, 10, tzinfo=UTC))
        _deliveries(session, w46, people, {"sent": 190, "bounced": 10}, at=datetime(2026, 11, 9, 1, tzinfo=UTC))
        w47 = _issue(session, ml, 3, date(2026, 11, 15), status=IssueStatus.SENDING)
        # Sunday 17:00 UTC is Monday 01:00 in Shanghai: week 47 in UTC, week 48 there.
        _deliveries(session, w47, people, {"sent": 100}, at=datetime(2026, 11, 22, 17, tzinfo=UTC))
        _deliveries(session, w47, people[100:], {"sent": 100, "pending": 5}, at=datetime(2026, 11, 16, tzinfo=UTC))
        theirs = _issue(session, other, 1, date(2026, 11, 15))
        _deliveries(session, theirs, people, {"sent": 40}, at=datetime(2026, 11, 17, tzinfo=UTC))
        for i in range(4):
            _event(session, "hard_bounce", f"w{i}@example.org", w46, created_at=datetime(2026, 11, 11, tzinfo=UTC))
        _event(session, "complaint", "w9@example.org", w46, created_at=datetime(2026, 11, 18, tzinfo=UTC))
        _event(session, "complaint", "w9@example.org", w47, created_at=datetime(2026, 11, 18, tzinfo=UTC))
        _event(session, "complaint", "w8@example.org", theirs, created_at=datetime(2026, 11, 24, tzinfo=UTC))
        return ml.id


def test_rates_per_week_by_when_copies_left_and_events_came(database_url):
    ml_id = _weeks(database_url)
    with transaction(database_url) as session:
        weeks = week_rates(session, NOW, list_id=ml_id)
        everyone = week_rates(session, NOW)
        shanghai = week_rates(session, NOW, list_id=ml_id, time_zone="Asia/Shanghai")
    assert [w.week for w in weeks[:4]] == ["2026-W48", "2026-W47", "2026-W46", "2026-W45"]
    assert len(weeks) == 12 and weeks[-1].week == "2026-W37"
    assert weeks[0].starts == datetime(2026, 11, 23, tzinfo=UTC)
    by_week = {w.week: w.figures for w in weeks}
    assert by_week["2026-W46"] == Figures(sent=200, refused=10, hard_bounces=4)
    assert by_week["2026-W46"].bounce_rate == 0.07 and by_week["2026-W46"].bounce_over_warning
    # One person complaining about two issues is two complaints: one per copy they got.
    assert by_week["2026-W47"] == Figures(sent=200, complaints=2)
    assert by_week["2026-W47"].complaint_rate == 0.01 and by_week["2026-W47"].complaint_over_limit
    assert by_week["2026-W48"] == Figures()  # the other list's complaint is not this list's
    assert all(f == Figures() for w, f in by_week.items() if w not in ("2026-W46", "2026-W47"))
    every = {w.week: w.figures for w in everyone}
    assert every["2026-W47"] == Figures(sent=240, complaints=2) and every["2026-W48"] == Figures(complaints=1)
    there = {w.week: w.figures for w in shanghai}
    assert there["2026-W47"] == Figures(sent=100, complaints=2) and there["2026-W48"] == Figures(sent=100)
    assert shanghai[0].starts == datetime(2026, 11, 22, 16, tzinfo=UTC)


def test_sources_health_says_which_mailbox_is_stale_and_which_webhook_errs(database_url):
    with transaction(database_url) as session:
        minutes = lambda n: NOW - timedelta(minutes=n)  # noqa: E731
        session.add_all(
            [
                models.LoopSource(name="mailbox", last_seen_at=minutes(15), last_ok_at=minutes(15), runs=7,
                                  counts={"mails": 12, "unparsed": 1}),
                models.LoopSource(name="ses", last_seen_at=minutes(2), last_ok_at=minutes(60),
                                  last_error="signature refused", last_error_at=minutes(2), counts={}, runs=3),
                models.LoopSource(name="sendgrid", last_seen_at=minutes(1), last_ok_at=minutes(1),
                                  last_error="timeout", last_error_at=minutes(30), counts={"events": 4}, runs=9),
            ]
        )  # fmt: skip
        session.flush()
        every = timedelta(minutes=5)  # DIGEST_BOUNCE_POLL_SECONDS=300
        health = {h.name: h for h in sources_health(session, NOW, expected=["mailbox:other"], poll_interval=every)}
        later = {h.name: h for h in sources_health(session, NOW + timedelta(seconds=1), poll_interval=every)}
    assert sorted(health) == ["mailbox", "mailbox:other", "sendgrid", "ses"]
    assert (health["mailbox"].stale, health["mailbox"].erroring, health["mailbox"].healthy) == (False, False, True)
    assert health["mailbox"].counts == {"mails": 12, "unparsed": 1} and health["mailbox"].runs == 7
    assert later["mailbox"].stale is True  # 15 minutes and a second: three polls of 5 minutes missed
    assert health["mailbox:other"].stale is True and health["mailbox:other"].runs == 0  # configured, never polled
    assert (health["ses"].erroring, health["ses"].stale, health["ses"].last_error) == (True, False, "signature refused")
    assert health["sendgrid"].healthy is True  # its error is older than its last success


def test_unparsed_mail_listed_newest_first_shown_cut_and_dismissed_once(database_url):
    with transaction(database_url) as session:
        for i, (subject, raw) in enumerate([("old", b"A" * 30), ("new", "<script>中文".encode()), ("gone", b"x")]):
            session.add(
                models.InboundMail(
                    mailbox="imaps://bounces@mail.example.org/INBOX",
                    ref=f"<m{i}@example.org>",
                    sender="mailer-daemon@example.org",
                    subject=subject,
                    why="no DSN, no ARF, no token",
                    raw=raw,
                    received_at=NOW - timedelta(hours=3 - i),
                    dismissed_at=NOW if subject == "gone" else None,
                )
            )
        session.flush()
        listed, total = unparsed_mails(session)
        old = unparsed_mail(session, listed[1].id, shown=10)
        new = unparsed_mail(session, listed[0].id)
        firstly = dismiss_inbound_mail(session, listed[1].id, NOW)
        again = dismiss_inbound_mail(session, listed[1].id, NOW + timedelta(hours=1))
        after, left = unparsed_mails(session)
        with pytest.raises(NotFound):
            dismiss_inbound_mail(session, 10_000, NOW)
        with pytest.raises(NotFound):
            unparsed_mail(session, 10_000)
    assert ([m.subject for m in listed], total) == (["new", "old"], 2)
    assert (listed[1].size, old.text, old.cut) == (30, "A" * 10, True)
    assert (new.text, new.cut, new.mail.size) == ("<script>中文", False, 14)
    assert (firstly, again) == (True, False)
    assert ([m.subject for m in after], left) == (["new"], 1)
    with transaction(database_url) as session:
        assert unparsed_mail(session, listed[1].id).mail.dismissed_at == NOW  # the first dismissal stands


def test_suppressions_show_their_kind_and_the_event_that_decided(database_url):
    with transaction(database_url) as session:
        bounce = _event(session, "hard_bounce", "gone@example.org", status="5.1.1", detail="user unknown",
                        source="postmark", raw_ref="pm-123")  # fmt: skip
        session.add(models.Suppression(email="gone@example.org", reason="hard bounce", kind="hard_bounce",
                                       event_id=bounce.id, created_at=NOW))  # fmt: skip
        session.add(models.Suppression(email="asked@example.org", reason="asked by phone", created_at=NOW))
        session.flush()
        views, total = find_suppressions(session, "gone")
        every, _ = find_suppressions(session)
    assert total == 1
    (view,) = views
    assert (view.email, view.kind, view.reason) == ("gone@example.org", "hard_bounce", "hard bounce")
    assert view.event is not None
    assert (view.event.source, view.event.status, view.event.detail, view.event.raw_ref) == (
        "postmark",
        "5.1.1",
        "user unknown",
        "pm-123",
    )
    asked = next(v for v in every if v.email == "asked@example.org")
    assert (asked.kind, asked.event) == ("admin", None)


MANY_SUBSCRIBERS = """
INSERT INTO subscribers (email, name, time_zone, locale, created_at, form_mails_sent)
SELECT 'x' || n || '@example.org', '', 'Asia/Shanghai', 'zh-CN', now(), 0 FROM generate_series(1, 2000) n
"""
EVERY_ONE_A_COPY = """
INSERT INTO deliveries (issue_id, subscriber_id, status, attempts, article_count, updated_at)
SELECT i.id, s.id, CASE WHEN s.id % 50 = 0 THEN 'bounced' ELSE 'sent' END, 1, 0, now()
FROM issues i CROSS JOIN subscribers s
"""
EVERY_TENTH_BOUNCED = """
INSERT INTO mail_events (key, kind, source, email, status, detail, raw_ref, issue_id, list_id, decision,
                         decision_detail, created_at)
SELECT 'e' || i.id || '-' || s.id, 'hard_bounce', 'mailbox', 'x' || s.id || '@example.org', '', '', '', i.id,
       i.list_id, 'nothing', '', now()
FROM issues i CROSS JOIN subscribers s WHERE s.id % 10 = 0
"""


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_per_issue_figures_never_scan_the_whole_ledger(database_url):
    """200,000 ledger rows over 100 issues and 20,000 events: PostgreSQL's plan for a handful of issues' figures
    reads the indexes by issue, never the tables from end to end."""
    with transaction(database_url) as session:
        ml = _list(session)
        session.execute(text(MANY_SUBSCRIBERS))
        for n in range(1, 101):
            _issue(session, ml, n, date(2025, 1, 5) + timedelta(weeks=n))
        session.execute(text(EVERY_ONE_A_COPY))
        session.execute(text(EVERY_TENTH_BOUNCED))
    with transaction(database_url) as session:
        session.execute(text("ANALYZE"))
    statements: list[tuple[str, object]] = []
    with transaction(database_url) as session:
        engine = session.get_bind()
        listen = lambda conn, cursor, sql, params, context, many: statements.append((sql, params))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listen)
        try:
            figures = issue_rates(session, issues=5)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        plans = [
            "\n".join(r[0] for r in session.connection().exec_driver_sql("EXPLAIN " + sql, params))
            for sql, params in statements
        ]
    assert [f.figures.sent for f in figures] == [2000] * 5 and figures[0].figures.hard_bounces == 200
    assert figures[0].figures.refused == 40
    ledger = [p for p in plans if "deliveries" in p]
    events = [p for p in plans if "mail_events" in p]
    assert len(ledger) == 1 and len(events) == 1, plans
    assert "Seq Scan on deliveries" not in ledger[0] and "ix_deliveries_issue_status" in ledger[0], ledger[0]
    assert "Seq Scan on mail_events" not in events[0] and "ix_mail_events_issue_kind" in events[0], events[0]
