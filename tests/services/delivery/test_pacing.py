"""A list's rate limit holds without a broker: the in-process send (the console's "send now", `digest send`)
keeps the same pace as the workers, as the SMTP server's own clock measures it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime, time
from itertools import pairwise
from pathlib import Path

from fixtures_db import make_settings
from personas import subscribe_confirmed
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.delivery.now import background_send, deliver_now
from digest.services.delivery.plan import start_now
from digest.services.issues import plan_issue
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime

DEMO = Path(__file__).resolve().parents[3] / "digest" / "data" / "demo-issue.txt"
PERIOD_END = date(2026, 11, 22)


def _started_issue(url: str, rate: float | None) -> int:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@digest.example.org"
        ml.rate_limit = rate
        regions = load_regions()
        published = datetime.combine(date(2026, 11, 20), time(9), NEWSROOM_TZ)
        store_articles(session, ml, parse_file(DEMO), regions, source="demo", published=published)
        subscribe_confirmed(session, ml, regions)
        issue = plan_issue(session, ml, PERIOD_END)
        start_now(session, issue)
        return issue.id


def _sent(url: str, issue_id: int) -> int:
    with transaction(url) as session:
        statuses = session.scalars(select(models.Delivery.status).where(models.Delivery.issue_id == issue_id)).all()
    return sum(1 for s in statuses if s == "sent")


def test_send_now_without_a_broker_keeps_the_lists_rate(database_url, tmp_path, smtp_server):
    rate = 10.0
    issue_id = _started_issue(database_url, rate)
    runtime = Runtime(make_settings(database_url, tmp_path, smtp_url=smtp_server.url))
    assert deliver_now(runtime, issue_id) == "background"
    thread = background_send(issue_id)
    if thread is not None:
        thread.join(timeout=30)

    stamps = sorted(m.at for m in smtp_server.messages)
    sent = _sent(database_url, issue_id)
    assert sent >= 4 and len(stamps) == sent  # every sent row reached the server
    # n messages at `rate` a second span at least (n - 1) / rate seconds on the server's clock (less a
    # little: the server notes each message a moment after the sender's pause, a moment that varies).
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) / rate - 0.03
    # Unthrottled, loopback takes a few milliseconds between two messages.
    assert min(b - a for a, b in pairwise(stamps)) >= 0.5 / rate


def test_digest_send_without_a_broker_keeps_the_lists_rate(database_url, tmp_path, smtp_server):
    """`digest send`'s own path (a progress bar watching the run) paces as the console's send does."""
    from digest.cli.sendout import run_send

    rate = 10.0
    _started_issue(database_url, rate)
    runtime = Runtime(make_settings(database_url, tmp_path, smtp_url=smtp_server.url))
    result = run_send(runtime, None, PERIOD_END)
    stamps = sorted(m.at for m in smtp_server.messages)
    assert result.report.counts["sent"] == len(stamps) >= 4
    assert stamps[-1] - stamps[0] >= (len(stamps) - 1) / rate - 0.03
