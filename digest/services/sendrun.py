"""`digest send` and the demo share this: plan the issue, send in-process, report from the ledger."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date

import click
from sqlalchemy import func, select

from digest.adapters.storage import models
from digest.adapters.transports import open_transport
from digest.core.clock import SYSTEM_CLOCK, Clock
from digest.services.issues import claim_due, plan_issue, start_issue
from digest.services.lists import get_list
from digest.services.sending import SendReport, send_pending


@dataclass
class LedgerLine:
    email: str
    name: str
    status: str
    articles: int
    detail: str  # where the message lies, or why it was not sent


@dataclass
class SendResult:
    issue_number: int
    period_start: date
    period_end: date
    report: SendReport
    lines: list[LedgerLine]


def run_send(app, list_slug: str | None, period_end: date) -> SendResult:
    with app.session() as session:
        ml = get_list(session, list_slug)
        issue = plan_issue(session, ml, period_end)
        start_issue(session, issue)
        issue_id = issue.id
        pending = session.scalar(
            select(func.count())
            .select_from(models.Delivery)
            .where(models.Delivery.issue_id == issue_id, models.Delivery.status == "pending")
        )
    return deliver_issue(app, issue_id, pending or 0, period_end)


def deliver_issue(app, issue_id: int, pending: int, period_end: date) -> SendResult:
    """The issue's due rows: handed to the workers with a broker, else sent here and now."""
    if app.settings.broker_url:
        return SendResult(
            0,
            period_end,
            period_end,
            SendReport(
                issue_id,
                {"queued": dispatch_issue(app.settings.broker_url, app.factory, issue_id, clock=app.settings.clock)},
            ),
            [],
        )
    try:
        transport = open_transport(app.settings.smtp_url, app.settings.outbox)
    except (ValueError, OSError) as exc:  # DIGEST_SMTP_URL malformed, the outbox not writable
        raise RunStopped(f"sending stopped, no delivery was marked failed: cannot open the transport: {exc}") from None
    with (
        transport,
        click.progressbar(length=pending, label=f"sending issue {issue_id}", file=sys.stderr) as bar,
    ):
        report = send_pending(app.factory, issue_id, transport, app.settings, app.regions, app.env, progress=bar.update)
    return ledger_result(app, issue_id, report)


def dispatch_issue(broker_url: str, factory, issue_id: int, *, clock: Clock = SYSTEM_CLOCK) -> int:
    """With a broker, the workers send: hand them the issue's rows in batches."""
    from celery import Celery

    from digest.services.pipeline import BATCH_SIZE

    client = Celery(broker=broker_url)
    queued = 0
    while True:
        with factory.begin() as session:
            claims = claim_due(session, limit=BATCH_SIZE, now=clock.now(), issue_id=issue_id, respect_backoff=False)
            batch = claims.get(issue_id)
        if not batch:
            return queued
        client.send_task("digest.send_batch", args=[issue_id, batch])
        queued += len(batch)


def ledger_result(app, issue_id: int, report: SendReport) -> SendResult:
    with app.session() as session:
        issue = session.get(models.Issue, issue_id)
        rows = session.execute(
            select(models.Delivery, models.Subscriber)
            .join(models.Subscriber, models.Delivery.subscriber_id == models.Subscriber.id)
            .where(models.Delivery.issue_id == issue_id)
            .order_by(models.Delivery.id)
        ).all()
        lines = [
            LedgerLine(
                email=s.email,
                name=s.name,
                status=d.status,
                articles=d.article_count,
                detail=d.location if d.status == "sent" else (d.reason or d.last_error or ""),
            )
            for d, s in rows
        ]
        return SendResult(issue.number, issue.period_start, issue.period_end, report, lines)


def print_send_table(result: SendResult) -> None:
    if not result.lines and "queued" in result.report.counts:
        click.echo(
            f"{result.report.counts['queued']} deliveries handed to the workers; watch them with `digest status`"
        )
        return
    done = _counts(result.report.counts) or ("stopped" if result.report.halted else "nothing left to send")
    click.echo(
        f"issue {result.issue_number}: {result.period_start} – {result.period_end}; "
        f"this run: {done}; "
        f"{result.report.renders} distinct digest(s) rendered"
    )
    if not result.lines:
        click.echo("no confirmed subscribers on this list")
        return
    email_w = max(len(line.email) for line in result.lines)
    click.echo(f"{'subscriber':<{email_w}}  {'status':<10} {'articles':>8}  where / why")
    for line in result.lines:
        colour = {"sent": "green", "skipped": "yellow"}.get(line.status, "red")
        status = click.style(f"{line.status:<10}", fg=colour)
        click.echo(f"{line.email:<{email_w}}  {status} {line.articles:>8}  {line.detail}")


# Exit codes of `digest send`, `digest demo` and `digest issues retry`: 0 every delivery went
# (or was rightly skipped); 1 some failed or bounced, each for its own subscriber; 3 the run
# stopped on a fault of the installation or configuration and marked nobody failed.
EXIT_SOME_FAILED = 1
EXIT_STOPPED = 3


class RunStopped(click.ClickException):
    """The installation or configuration stopped the run: one line on stderr, exit 3, no row blamed."""

    exit_code = EXIT_STOPPED


def exit_for(result: SendResult, retry_hint: str) -> None:
    """After the table: exit 3 if the run stopped on a setup fault, 1 if any delivery of it failed."""
    if result.report.halted:
        raise RunStopped(
            f"sending stopped, no delivery was marked failed: {result.report.halted}; fix that and run it again"
        )
    failed = sum(result.report.counts.get(status, 0) for status in ("failed", "bounced"))
    if failed:
        click.secho(
            f"{failed} deliver{'y' if failed == 1 else 'ies'} failed (see `digest issues show {result.issue_number}`); "
            f"once the cause is fixed, `{retry_hint}` sends them again",
            fg="red",
            err=True,
        )
        click.get_current_context().exit(EXIT_SOME_FAILED)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
