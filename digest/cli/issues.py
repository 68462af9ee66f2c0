"""`digest issues …` and `digest status`: watch and steer sending."""

from __future__ import annotations

from collections.abc import Callable

import click
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.cli.context import current_runtime
from digest.core.schedule import WEEKDAYS
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services.delivery.skips import reason_text
from digest.services.issue_detail import issue_by_number, issue_summaries, stream_delivery_log
from digest.services.issues import (
    RETRYABLE,
    cancel_issue,
    delivery_counts,
    pause_issue,
    resume_issue,
    retry_deliveries,
)
from digest.services.lists import get_list

list_option = click.option("--list", "list_slug", metavar="SLUG")


@click.group()
def issues() -> None:
    """List issues; pause, resume or cancel one, mid-send included; send its failed deliveries again."""


@issues.command("list")
@list_option
def issues_list(list_slug) -> None:
    """Every issue of a list, newest first, with its delivery counts."""
    with current_runtime().transaction() as session:
        _, summaries = issue_summaries(session, get_list(session, list_slug), limit=None)
        click.echo(f"{'#':>4}  {'period':<23}  {'status':<10}  " + " ".join(f"{c:>10}" for c in DeliveryStatus))
        for issue in summaries:
            click.echo(
                f"{issue.number:>4}  {issue.period_start} – {issue.period_end}  {issue.status:<10}  "
                + " ".join(f"{issue.counts.get(c, 0):>10}" for c in DeliveryStatus)
            )


@issues.command("show")
@click.argument("number", type=int)
@list_option
def issues_show(number, list_slug) -> None:
    """One issue's deliveries: who, status, attempts, last error."""
    with current_runtime().transaction() as session:
        ml = get_list(session, list_slug)
        issue = issue_by_number(session, ml, number)
        click.echo(f"issue {issue.number} of {ml.slug}: {issue.period_start} – {issue.period_end}, {issue.status}")
        for d in stream_delivery_log(session, issue.id):
            detail = reason_text(d.reason) or d.last_error or d.location or ""
            due = d.due_at.strftime("%Y-%m-%d %H:%M UTC") if d.due_at else "now"
            click.echo(f"{d.email:<32} {d.status:<10} attempts {d.attempts}  due {due}  {detail}")


def _steer(action: Callable[[Session, models.Issue], object], verb: str, help: str) -> click.Command:
    @click.argument("number", type=int)
    @list_option
    def command(number, list_slug) -> None:
        with current_runtime().transaction() as session:
            action(session, issue_by_number(session, get_list(session, list_slug), number))
            click.echo(f"issue {number} {verb}")

    return click.command(help=help)(command)


issues.add_command(
    _steer(pause_issue, "paused", "Stop handing out this issue's messages; those on the wire finish."), "pause"
)
issues.add_command(_steer(resume_issue, "resumed", "Carry on sending a paused issue."), "resume")
issues.add_command(
    _steer(cancel_issue, "cancelled", "Stop this issue for good; unsent deliveries are skipped."), "cancel"
)


@issues.command("retry")
@click.argument("number", type=int)
@click.option(
    "--status",
    type=click.Choice([s.value for s in RETRYABLE]),  # the values: click would match an enum by its name
    default=DeliveryStatus.FAILED.value,
    show_default=True,
    help="Which deliveries: failed, or bounced (only those whose address is no longer suppressed).",
)
@list_option
def issues_retry(number, status, list_slug) -> None:
    """Send again issue NUMBER's deliveries that failed; sent ones never go twice.

    They go back to pending and are sent now (handed to the workers with a
    broker), as `digest send` does. Exit 1 if some fail again, 3 if a fault
    of the installation stops the run.
    """
    from digest.cli.sendout import deliver_issue, exit_for, print_send_table

    runtime = current_runtime()
    with runtime.transaction() as session:
        issue = issue_by_number(session, get_list(session, list_slug), number)
        reset, left = retry_deliveries(session, issue, status, now=runtime.settings.clock.now())
        issue_id, issue_status, period_end = issue.id, issue.status, issue.period_end
    still = f"; {left} left as they are: their address is still suppressed" if left else ""
    click.echo(f"issue {number}: {reset} {status} deliver{'y' if reset == 1 else 'ies'} put back to pending{still}")
    if not reset:
        return
    if issue_status == IssueStatus.PAUSED:
        click.echo(f"issue {number} is paused: they go out when it resumes (`digest issues resume {number}`)")
        return
    result = deliver_issue(runtime, issue_id, reset, period_end)
    print_send_table(result)
    exit_for(result, f"digest issues retry {number}" + (f" --list {list_slug}" if list_slug else ""))


@click.command()
@list_option
def status(list_slug) -> None:
    """Deliveries of the latest issue by status: queued, sending, sent, failed, bounced, skipped."""
    with current_runtime().transaction() as session:
        ml = get_list(session, list_slug)
        slot = f"{WEEKDAYS[ml.send_weekday]} {ml.send_time} ({ml.time_zone}, in each subscriber's zone)"
        click.echo(f"list {ml.slug}: weekly slot {slot}, {'on' if ml.schedule_enabled else 'off'}")
        _, latest = issue_summaries(session, ml, limit=1)
        if not latest:
            click.echo("no issue yet")
            return
        issue = latest[0]
        counts = delivery_counts(session, issue.id)
        click.echo(f"issue {issue.number} ({issue.period_start} – {issue.period_end}): {issue.status}")
        for column in DeliveryStatus:
            click.echo(f"  {column:<10} {counts.get(column, 0):>8}")
