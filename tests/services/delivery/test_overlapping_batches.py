"""Two batches over the same rows (a task redelivered while the first still runs): a batch that halts
puts back only the rows it holds, never one the other batch is sending. Real SMTP servers on loopback,
the ledger on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter

from fixtures_db import make_settings
from smtpserver import start_server
from sqlalchemy import select
from test_sending import EXPECTED, PERIOD_END, _seed

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.delivery.batches import send_pending
from digest.services.delivery.digests import issue_digests
from digest.services.delivery.rows import load_rows
from digest.services.delivery.sender import Pace, Sender
from digest.services.issues import claim_due, plan_issue, start_issue, unclaim
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime


def _queued_with_messages(url: str) -> tuple[int, list[int]]:
    """The issue, started, and three rows queued whose subscribers get a message; returns their ids."""
    _seed(url)
    with transaction(url) as session:
        issue = plan_issue(session, ensure_default_list(session), PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    with transaction(url) as session:
        queued = claim_due(session, limit=100, issue_id=issue_id, respect_backoff=False)[issue_id]
        emails = dict(
            session.execute(
                select(models.Delivery.id, models.Subscriber.email)
                .join(models.Subscriber)
                .where(models.Delivery.id.in_(queued))
            ).all()
        )
        chosen = sorted(i for i in queued if emails[i] in EXPECTED)[:3]
        unclaim(session, [i for i in queued if i not in chosen])  # the rest waits for the later run
    return issue_id, chosen


def _rows(runtime: Runtime, issue_id: int, ids: list[int]):
    with runtime.transaction() as session:
        issue = issue_digests(runtime, session, issue_id)
        return issue, load_rows(session, ids, issue.list_id)


def test_a_halted_batch_releases_only_its_own_rows_not_one_another_batch_is_sending(database_url, tmp_path):
    issue_id, (r0, r1, r2) = _queued_with_messages(database_url)
    refusing, accepting, later = start_server(), start_server(), start_server()
    try:
        # The sender refused (not a 421, which the transport takes as a dropped connection and retries):
        # no recipient is at fault, so batch A halts and releases what it holds.
        refusing.handler.fail_mail["weekly@digest.example.org"] = (451, "4.3.2 not accepting messages now")
        runtime_a = Runtime(make_settings(database_url, tmp_path, smtp_url=refusing.url))
        runtime_b = Runtime(make_settings(database_url, tmp_path, smtp_url=accepting.url))
        # Batch A read its rows (all three queued) when its task began; then batch B, over the same ids.
        issue_a, rows_a = _rows(runtime_a, issue_id, [r0, r1, r2])
        issue_b, rows_b = _rows(runtime_b, issue_id, [r1, r2])
        reports = []

        def batch_a_runs_and_halts(_: int) -> None:
            # B has sent r1 and not yet committed it as sent: A now claims r0, meets the 421, and halts.
            if not reports:
                with runtime_a.open_transport() as transport:
                    reports.append(Sender(runtime_a, issue_a, transport).send(rows_a))

        with runtime_b.open_transport() as transport:
            report_b = Sender(runtime_b, issue_b, transport, Pace(progress=batch_a_runs_and_halts)).send(rows_b)
        [report_a] = reports
        assert report_a.halted and "451" in report_a.halted
        assert report_b.counts == {"sent": 1}

        with transaction(database_url) as session:
            statuses = dict(session.execute(select(models.Delivery.id, models.Delivery.status)).all())
        assert (statuses[r0], statuses[r1], statuses[r2]) == ("pending", "sent", "pending")

        # The next run sends what is pending: r1 is not among it.
        runtime = Runtime(make_settings(database_url, tmp_path, smtp_url=later.url))
        with runtime.open_transport() as transport:
            send_pending(runtime, issue_id, transport)
        received = Counter(m.rcpt_tos[0] for s in (refusing, accepting, later) for m in s.messages)
        assert received == Counter(EXPECTED.keys())  # every subscriber once, r1 included
    finally:
        for server in (refusing, accepting, later):
            server.stop()
