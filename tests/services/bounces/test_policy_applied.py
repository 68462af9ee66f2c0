"""What stored events do: suppressions, unsubscriptions, scores and marked deliveries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from personas import LI_HUNAN, WANG_NATIONAL, ZHANG_ANKANG
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.events import EventKind, MailEvent
from digest.services.bounces import apply_events, record_events
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import DEFAULT_LIST_SLUG, ensure_default_list
from digest.services.suppressions import remove_suppression

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _sent_issue(url: str) -> dict[str, int]:
    """The default list and a second one; Wang, Li and Zhang confirmed on the first (Li on both), the issue
    sent to all three. Returns each persona's delivery id by email, and "issue" and "second"."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        second = models.MailingList(slug="second", name="Second", sender_email="second@example.org")
        session.add(second)
        session.flush()
        for persona in (WANG_NATIONAL, LI_HUNAN, ZHANG_ANKANG):
            person = models.Subscriber(email=persona.email, name=persona.name, created_at=NOW)
            session.add(person)
            session.flush()
            lists = (ml, second) if persona is LI_HUNAN else (ml,)
            for each in lists:
                session.add(
                    models.Subscription(list_id=each.id, subscriber_id=person.id, status="confirmed", created_at=NOW)
                )
        session.flush()
        issue = plan_issue(session, ml, date(2026, 3, 1))
        start_issue(session, issue)
        session.flush()
        d = models.Delivery
        ids = {}
        for row in session.scalars(select(d).where(d.issue_id == issue.id)):
            row.status, row.message_id, row.sent_at = "sent", f"<copy{row.id}@example.org>", NOW
            ids[session.get(models.Subscriber, row.subscriber_id).email] = row.id
        return ids | {"issue": issue.id, "second": second.id}


def _apply(url: str, events: list[MailEvent], now: datetime = NOW):
    with transaction(url) as session:
        ids = record_events(session, events, now)
        return apply_events(session, ids, now)


def _state(url: str) -> dict:
    with transaction(url) as session:
        sup = {r.email: (r.kind, r.event_id is not None) for r in session.scalars(select(models.Suppression))}
        subs = {
            (s.subscriber.email, s.list.slug): (s.status, round(s.bounce_score, 2))
            for s in session.scalars(select(models.Subscription))
        }
        deliveries = {r.id: r.status for r in session.scalars(select(models.Delivery))}
        events = [(r.kind, r.email, r.decision, r.issue_id) for r in session.scalars(select(models.MailEventRow))]
        return {"suppressed": sup, "subs": subs, "deliveries": deliveries, "events": events}


def test_a_hard_bounce_suppresses_and_is_noted_on_the_copy(database_url):
    ids = _sent_issue(database_url)
    wang = ids[WANG_NATIONAL.email]
    event = MailEvent(EventKind.HARD_BOUNCE, "k1", "mailbox", status="5.1.1", detail="user unknown", delivery_id=wang)
    decisions = _apply(database_url, [event])
    assert [(d.decision, d.email) for d in decisions] == [("suppressed", WANG_NATIONAL.email)]
    state = _state(database_url)
    assert state["suppressed"] == {WANG_NATIONAL.email: ("hard_bounce", True)}
    # Still "sent" (the server took it); the sender page counts the bounce from the event.
    assert state["deliveries"][wang] == "sent"
    with transaction(database_url) as session:
        assert session.get(models.Delivery, wang).last_error == "bounced later: 5.1.1: user unknown"
    assert state["events"] == [("hard_bounce", WANG_NATIONAL.email, "suppressed", ids["issue"])]


def test_the_same_event_twice_is_stored_and_applied_once(database_url):
    ids = _sent_issue(database_url)
    event = MailEvent(EventKind.SOFT_BOUNCE, "same", "ses", email=ZHANG_ANKANG.email.upper(), status="4.2.2")
    first = _apply(database_url, [event, event])
    again = _apply(database_url, [event], NOW + timedelta(days=3))
    assert [d.decision for d in first] == ["scored"] and again == []
    state = _state(database_url)
    assert state["subs"][(ZHANG_ANKANG.email, DEFAULT_LIST_SLUG)] == ("confirmed", 1.0)
    assert len(state["events"]) == 1 and state["events"][0][1] == ZHANG_ANKANG.email  # stored as the subscriber's
    assert ids


def test_a_complaint_suppresses_and_leaves_every_list(database_url):
    ids = _sent_issue(database_url)
    _apply(
        database_url, [MailEvent(EventKind.COMPLAINT, "c", "mailbox", detail="abuse", delivery_id=ids[LI_HUNAN.email])]
    )
    state = _state(database_url)
    assert state["suppressed"] == {LI_HUNAN.email: ("complaint", True)}
    assert state["subs"][(LI_HUNAN.email, DEFAULT_LIST_SLUG)][0] == "unsubscribed"
    assert state["subs"][(LI_HUNAN.email, "second")][0] == "unsubscribed"
    assert state["subs"][(WANG_NATIONAL.email, DEFAULT_LIST_SLUG)][0] == "confirmed"


def test_a_mailto_unsubscribe_leaves_only_its_list_and_suppresses_nothing(database_url):
    ids = _sent_issue(database_url)
    with transaction(database_url) as session:
        li = session.scalar(select(models.Subscriber.id).where(models.Subscriber.email == LI_HUNAN.email))
    event = MailEvent(EventKind.UNSUBSCRIBE, "u", "mailbox", subscriber_id=li, list_slug="second")
    assert [d.decision for d in _apply(database_url, [event])] == ["unsubscribed"]
    state = _state(database_url)
    assert state["subs"][(LI_HUNAN.email, "second")][0] == "unsubscribed"
    assert state["subs"][(LI_HUNAN.email, DEFAULT_LIST_SLUG)][0] == "confirmed"
    assert state["suppressed"] == {} and ids


def test_soft_bounces_add_up_to_the_lists_threshold_then_suppress(database_url):
    ids = _sent_issue(database_url)
    zhang = ids[ZHANG_ANKANG.email]
    decisions = []
    for day in range(7):
        event = MailEvent(EventKind.SOFT_BOUNCE, f"s{day}", "mailbox", status="4.2.2", delivery_id=zhang)
        decisions += _apply(database_url, [event], NOW + timedelta(days=day))
    # The default threshold, 5.0, is reached on the sixth daily bounce (each halving over 60 days).
    assert [d.decision for d in decisions] == ["scored"] * 5 + ["suppressed", "suppressed"]
    assert "already" not in decisions[5].detail
    state = _state(database_url)
    assert state["suppressed"] == {ZHANG_ANKANG.email: ("soft_bounce", True)}
    assert state["deliveries"][zhang] == "sent"  # a soft bounce does not say the copy was lost


def test_a_second_soft_bounce_the_same_day_does_not_count(database_url):
    ids = _sent_issue(database_url)
    zhang = ids[ZHANG_ANKANG.email]
    one = MailEvent(EventKind.SOFT_BOUNCE, "a", "mailbox", status="4.2.2", delivery_id=zhang)
    two = MailEvent(EventKind.SOFT_BOUNCE, "b", "mailbox", status="4.2.2", delivery_id=zhang)
    _apply(database_url, [one])
    decisions = _apply(database_url, [two], NOW + timedelta(hours=5))
    assert "once a day" in decisions[0].detail
    assert _state(database_url)["subs"][(ZHANG_ANKANG.email, DEFAULT_LIST_SLUG)] == ("confirmed", 1.0)


def test_an_auto_reply_changes_nothing(database_url):
    ids = _sent_issue(database_url)
    before = _state(database_url)
    event = MailEvent(EventKind.AUTO_REPLY, "o", "mailbox", delivery_id=ids[WANG_NATIONAL.email])
    assert [d.decision for d in _apply(database_url, [event])] == ["ignored"]
    after = _state(database_url)
    assert after["suppressed"] == before["suppressed"] and after["subs"] == before["subs"]


def test_a_report_found_by_its_message_id(database_url):
    ids = _sent_issue(database_url)
    wang = ids[WANG_NATIONAL.email]
    event = MailEvent(
        EventKind.HARD_BOUNCE, "m", "mailgun", email="x@elsewhere.example", message_id=f"copy{wang}@example.org"
    )
    _apply(database_url, [event])
    assert _state(database_url)["events"] == [("hard_bounce", WANG_NATIONAL.email, "suppressed", ids["issue"])]


def test_lifting_a_suppression_clears_the_score(database_url):
    ids = _sent_issue(database_url)
    zhang = ids[ZHANG_ANKANG.email]
    for day in range(6):
        _apply(
            database_url,
            [MailEvent(EventKind.SOFT_BOUNCE, f"s{day}", "mailbox", delivery_id=zhang)],
            NOW + timedelta(days=day),
        )
    with transaction(database_url) as session:
        remove_suppression(session, email=ZHANG_ANKANG.email)
    state = _state(database_url)
    assert state["suppressed"] == {} and state["subs"][(ZHANG_ANKANG.email, DEFAULT_LIST_SLUG)] == ("confirmed", 0.0)


def test_an_unsigned_bounce_from_the_mailbox_suppresses_nobody(database_url):
    _sent_issue(database_url)
    # Anyone can write to the bounce mailbox: a "bounce" naming an address but no copy by a valid return path.
    event = MailEvent(EventKind.HARD_BOUNCE, "forged", "mailbox", email=WANG_NATIONAL.email, status="5.1.1")
    assert [d.decision for d in _apply(database_url, [event])] == ["nothing"]
    assert _state(database_url)["suppressed"] == {}


def test_a_signed_reference_is_never_swapped_for_the_address_beside_it(database_url):
    ids = _sent_issue(database_url)
    # An unsubscribe token of a subscriber deleted since, in a mail whose From names someone else.
    event = MailEvent(EventKind.UNSUBSCRIBE, "gone", "mailbox", email=LI_HUNAN.email, subscriber_id=999_999)
    assert [d.decision for d in _apply(database_url, [event])] == ["nothing"]
    assert _state(database_url)["subs"][(LI_HUNAN.email, DEFAULT_LIST_SLUG)][0] == "confirmed" and ids


def test_a_providers_unsubscribe_that_names_no_list_leaves_nothing(database_url):
    _sent_issue(database_url)
    event = MailEvent(EventKind.UNSUBSCRIBE, "mg", "mailgun", email=LI_HUNAN.email)
    [decision] = _apply(database_url, [event])
    assert (decision.decision, decision.detail) == (
        "nothing",
        "names no list (a provider's unsubscribe of no copy of ours): nothing left",
    )
    state = _state(database_url)
    assert state["subs"][(LI_HUNAN.email, DEFAULT_LIST_SLUG)][0] == "confirmed"
    assert state["subs"][(LI_HUNAN.email, "second")][0] == "confirmed"
