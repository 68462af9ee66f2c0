"""How many bounce mails a second one poll of the bounce mailbox processes, against a ceiling measured in the
same run.

    python -m bench.bounces --mails 5000 [--subscribers 50000]

A fresh PostgreSQL database holds a sent issue of `--subscribers` copies. `--mails` mails are written into a
Maildir, in the mix a list's mailbox sees after a send: for every 100, 55 hard bounces (Postfix-shaped DSNs,
5.1.1), 20 soft ones (4.2.2), 5 complaints (ARF), 10 out-of-office replies, 5 mailto unsubscribes and 5 that
nobody can read (replies from people), each naming its copy by its VERP return path.

1. ceiling: the same mails read from the Maildir and parsed by the stdlib's email parser, nothing more: what
   any reader of that mailbox pays before it decides anything;
2. poll: `poll_mailbox`, as `digest bounces poll` runs it: read, decide, store (PostgreSQL), move to
   `.Processed`.

The poll runs in this process (one core; PostgreSQL in its own). Prints mails per second for each, their
ratio, the poll's CPU seconds per 1,000 mails, and what it decided; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import json
import mailbox
import tempfile
import time
from datetime import UTC, date, datetime
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.send import SECRET, fresh_database
from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.verp import return_path
from digest.core.settings import Settings
from digest.core.statuses import DeliveryStatus, SubscriptionStatus
from digest.core.tokens import sign_token
from digest.services.bounces.polling import poll_mailbox
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import DEFAULT_LIST_SLUG, ensure_default_list
from digest.services.runtime import Runtime

DOMAIN = "bounce.bench.example.org"
AT = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Out of every 100 mails.
MIX = (("hard", 55), ("soft", 20), ("complaint", 5), ("ooo", 10), ("unsubscribe", 5), ("human", 5))


def seed(url: str, subscribers: int) -> list[tuple[int, int, str]]:
    """A sent issue of `subscribers` copies; returns (delivery id, subscriber id, address) of each."""
    now = datetime.now(UTC)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.schedule_enabled = False
        session.execute(
            insert(models.Subscriber),
            [{"email": f"reader{i:06d}@bench.example.cn", "name": "", "created_at": now} for i in range(subscribers)],
        )
        people = session.execute(
            select(models.Subscriber.id, models.Subscriber.email).order_by(models.Subscriber.id)
        ).all()
        session.execute(
            insert(models.Subscription),
            [
                {"list_id": ml.id, "subscriber_id": pid, "status": SubscriptionStatus.CONFIRMED, "created_at": now}
                for pid, _ in people
            ],
        )
        issue = plan_issue(session, ml, date(2026, 11, 29))
        start_issue(session, issue)
        session.flush()
        d = models.Delivery
        session.execute(
            d.__table__.update()
            .where(d.issue_id == issue.id)
            .values(status=DeliveryStatus.SENT, sent_at=now, message_id=func.concat("<copy", d.id, "@bench>"))
        )
        rows = session.execute(select(d.id, d.subscriber_id).where(d.issue_id == issue.id).order_by(d.id)).all()
    emails = dict(people)
    return [(delivery_id, sid, emails[sid]) for delivery_id, sid in rows]


def _mail(kind: str, copy: tuple[int, int, str], n: int) -> bytes:
    delivery_id, subscriber_id, address = copy
    verp = return_path(SECRET, DOMAIN, delivery_id)
    date_line = format_datetime(AT)
    head = f"Date: {date_line}\r\nMessage-ID: <m{n}@mx.bench.example.net>\r\n"
    if kind in ("hard", "soft"):
        status, action = ("5.1.1", "failed") if kind == "hard" else ("4.2.2", "failed")  # a 4.x.x the relay gave up on
        text = f"Diagnostic-Code: smtp; {'550 5.1.1 user unknown' if kind == 'hard' else '452 4.2.2 mailbox full'}"
        return _report(
            head + f"From: MAILER-DAEMON@mx.bench.example.net\r\nTo: {verp}\r\nSubject: Undelivered Mail\r\n",
            "delivery-status",
            f"Reporting-MTA: dns; mx.bench.example.net\r\n\r\nFinal-Recipient: rfc822; {address}\r\n"
            f"Action: {action}\r\nStatus: {status}\r\n{text}\r\n",
            f"From: weekly@bench.example.org\r\nTo: {address}\r\nSubject: weekly\r\n",
        )
    if kind == "complaint":
        return _report(
            head + f"From: fbl@feedback.bench.example.net\r\nTo: {verp}\r\nSubject: abuse report\r\n",
            "feedback-report",
            f"Feedback-Type: abuse\r\nUser-Agent: BenchFBL/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <{verp}>\r\n",
            "From: weekly@bench.example.org\r\nTo: redacted@feedback.bench.example.net\r\nSubject: weekly\r\n",
        )
    if kind == "ooo":
        return (
            head
            + f"From: {address}\r\nTo: {verp}\r\nSubject: Automatic reply: weekly\r\nAuto-Submitted: auto-replied\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nI am away until Monday.\r\n"
        ).encode()
    if kind == "unsubscribe":
        token = sign_token(SECRET, "unsubscribe", subscriber_id, DEFAULT_LIST_SLUG)
        return (
            head + f"From: {address}\r\nTo: unsubscribe@{DOMAIN}\r\nSubject: unsubscribe {token}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\nThis message was sent to unsubscribe.\r\n"
        ).encode()
    return (
        head + f"From: {address}\r\nTo: weekly@bench.example.org\r\nSubject: Re: weekly\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThanks, a good issue this week.\r\n"
    ).encode()


def _report(head: str, report_type: str, fields: str, original: str) -> bytes:
    b = "=_bench_report"
    return (
        head + f'MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type={report_type}; boundary="{b}"\r\n'
        f"\r\n--{b}\r\nContent-Type: text/plain\r\n\r\nA report about a message you sent.\r\n"
        f"\r\n--{b}\r\nContent-Type: message/{report_type}\r\n\r\n{fields}"
        f"\r\n--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\n{original}\r\n--{b}--\r\n"
    ).encode()


def write_mails(folder: Path, copies: list[tuple[int, int, str]], count: int) -> list[str]:
    """`count` mails in the MIX into a Maildir at `folder`, each about another copy; returns their kinds."""
    box = mailbox.Maildir(folder, create=True)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    written = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        box.add(_mail(kind, copies[n % len(copies)], n))
        written.append(kind)
    return written


def ceiling(folder: Path) -> tuple[int, float]:
    start = time.perf_counter()
    box = mailbox.Maildir(folder, create=False)
    n = 0
    for key in box.iterkeys():
        email.message_from_bytes(box.get_bytes(key), policy=email.policy.compat32)
        n += 1
    return n, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=5000)
    parser.add_argument("--subscribers", type=int, default=50_000)
    options = parser.parse_args()
    url = fresh_database("digest_bounce_bench")
    copies = seed(url, options.subscribers)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "Maildir"
        write_mails(folder, copies, options.mails)
        read, ceiling_seconds = ceiling(folder)
        loop = LoopSettings(bounce_domain=DOMAIN, mailbox_url=f"maildir://{folder}")
        settings = Settings(url, None, None, Path(tmp) / "outbox", SECRET, "https://bench.example.org", loop=loop)
        runtime = Runtime(settings)
        cpu, start = time.process_time(), time.perf_counter()
        report = poll_mailbox(runtime)
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        moved = sum(1 for _ in mailbox.Maildir(folder, create=False).iterkeys())
    figures = {
        "mails": options.mails,
        "subscribers": options.subscribers,
        "ceiling_mails_per_s": round(read / ceiling_seconds, 1),
        "poll_mails_per_s": round(report.mails / seconds, 1),
        "poll_vs_ceiling": round((report.mails / seconds) / (read / ceiling_seconds), 3),
        "poll_cpu_ms_per_mail": round(1000 * cpu_seconds / report.mails, 3),
        "left_in_inbox": moved,
        "unparsed": report.unparsed,
        "decisions": dict(sorted(report.decisions.items())),
    }
    print(f"ceiling (stdlib parse of each mail): {figures['ceiling_mails_per_s']:>9} mails/s")
    print(
        f"poll (read, decide, store, move):    {figures['poll_mails_per_s']:>9} mails/s "
        f"({figures['poll_vs_ceiling']:.1%} of the ceiling; {figures['poll_cpu_ms_per_mail']} ms CPU a mail)"
    )
    print(f"left in the inbox for a person: {moved}; decisions: {figures['decisions']}")
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    main()
