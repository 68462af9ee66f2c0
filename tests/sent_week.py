"""The sample week sent to the personas through the settings' SMTP server: the fixture many send tests share."""

from __future__ import annotations

from datetime import date, datetime, time

from personas import ALL
from samples import WEEKLY_ISSUE

from digest.adapters.storage.db import transaction
from digest.adapters.transports import open_transport
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.batches import send_pending
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.services.subscribers import upsert_subscription

PERIOD_END = date(2021, 6, 20)


def seed_week(url: str) -> None:
    """The sample week's 14 articles on the default list (sender weekly@digest.example.org) and every persona
    of ALL confirmed with their picks."""
    regions = load_regions()
    published = datetime.combine(date(2021, 6, 18), time(9), NEWSROOM_TZ)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        report = store_articles(
            session, ml, parse_file(WEEKLY_ISSUE), regions, source=str(WEEKLY_ISSUE), published=published
        )
        assert report.added == 14
        for persona in ALL:
            upsert_subscription(
                session,
                ml,
                regions,
                email=persona.email,
                name=persona.name,
                region_labels=persona.regions,
                topic_labels=persona.topics,
                status="confirmed",
            )


def send_week(url: str, settings, period_end: date = PERIOD_END):
    """Plans and sends the issue of the week ending `period_end` in this process, through settings' SMTP URL;
    returns its id and the SendReport."""
    with transaction(url) as session:
        issue = plan_issue(session, ensure_default_list(session), period_end)
        start_issue(session, issue)
        issue_id = issue.id
    with open_transport(settings.smtp_url, settings.outbox) as transport:
        report = send_pending(Runtime(settings), issue_id, transport)
    return issue_id, report
