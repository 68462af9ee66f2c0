"""`digest issues …`, `digest status` and `digest lists …`: watch and steer scheduled sending."""

from __future__ import annotations

from datetime import time

import click
from sqlalchemy import select

from digest.adapters.storage import models
from digest.core.schedule import WEEKDAYS, Slot, parse_weekday
from digest.core.statuses import DeliveryStatus, IssueStatus
from digest.services import NotFound
from digest.services.issues import (
    RETRYABLE,
    cancel_issue,
    delivery_counts,
    pause_issue,
    resume_issue,
    retry_deliveries,
)
from digest.services.lists import get_list


def _issue(session, ml, number: int) -> models.Issue:
    issue = session.scalar(select(models.Issue).where(models.Issue.list_id == ml.id, models.Issue.number == number))
    if issue is None:
        raise NotFound(f"list {ml.slug} has no issue number {number}")
    return issue


def register(main: click.Group, runtime_of) -> None:
    @main.group()
    def issues() -> None:
        """List issues; pause, resume or cancel one, mid-send included; send its failed deliveries again."""

    @issues.command("list")
    @click.option("--list", "list_slug", metavar="SLUG")
    @click.pass_context
    def issues_list(ctx, list_slug) -> None:
        """Every issue of a list, newest first, with its delivery counts."""
        runtime = runtime_of(ctx)
        with runtime.transaction() as session:
            ml = get_list(session, list_slug)
            rows = session.scalars(
                select(models.Issue).where(models.Issue.list_id == ml.id).order_by(models.Issue.number.desc())
            ).all()
            click.echo(f"{'#':>4}  {'period':<23}  {'status':<10}  " + " ".join(f"{c:>10}" for c in DeliveryStatus))
            for issue in rows:
                counts = delivery_counts(session, issue.id)
                click.echo(
                    f"{issue.number:>4}  {issue.period_start} – {issue.period_end}  {issue.status:<10}  "
                    + " ".join(f"{counts.get(c, 0):>10}" for c in DeliveryStatus)
                )

    @issues.command("show")
    @click.argument("number", type=int)
    @click.option("--list", "list_slug", metavar="SLUG")
    @click.pass_context
    def issues_show(ctx, number, list_slug) -> None:
        """One issue's deliveries: who, status, attempts, last error."""
        runtime = runtime_of(ctx)
        with runtime.transaction() as session:
            ml = get_list(session, list_slug)
            issue = _issue(session, ml, number)
            click.echo(f"issue {issue.number} of {ml.slug}: {issue.period_start} – {issue.period_end}, {issue.status}")
            rows = session.execute(
                select(models.Delivery, models.Subscriber.email)
                .join(models.Subscriber, models.Subscriber.id == models.Delivery.subscriber_id)
                .where(models.Delivery.issue_id == issue.id)
                .order_by(models.Delivery.id)
            ).all()
            for d, email in rows:
                detail = d.reason or d.last_error or d.location or ""
                due = d.due_at.strftime("%Y-%m-%d %H:%M UTC") if d.due_at else "now"
                click.echo(f"{email:<32} {d.status:<10} attempts {d.attempts}  due {due}  {detail}")

    def _steer(action, verb):
        @click.argument("number", type=int)
        @click.option("--list", "list_slug", metavar="SLUG")
        @click.pass_context
        def command(ctx, number, list_slug) -> None:
            runtime = runtime_of(ctx)
            with runtime.transaction() as session:
                issue = _issue(session, get_list(session, list_slug), number)
                action(session, issue)
                click.echo(f"issue {number} {verb}")

        return command

    @issues.command("retry")
    @click.argument("number", type=int)
    @click.option(
        "--status",
        type=click.Choice([s.value for s in RETRYABLE]),  # the values: click would match an enum by its name
        default=DeliveryStatus.FAILED.value,
        show_default=True,
        help="Which deliveries: failed, or bounced (only those whose address is no longer suppressed).",
    )
    @click.option("--list", "list_slug", metavar="SLUG")
    @click.pass_context
    def issues_retry(ctx, number, status, list_slug) -> None:
        """Send again issue NUMBER's deliveries that failed; sent ones never go twice.

        They go back to pending and are sent now (handed to the workers with a
        broker), as `digest send` does. Exit 1 if some fail again, 3 if a fault
        of the installation stops the run.
        """
        from digest.cli.sendout import deliver_issue, exit_for, print_send_table

        runtime = runtime_of(ctx)
        with runtime.transaction() as session:
            issue = _issue(session, get_list(session, list_slug), number)
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

    issues.command("pause", help="Stop handing out this issue's messages; those on the wire finish.")(
        _steer(pause_issue, "paused")
    )
    issues.command("resume", help="Carry on sending a paused issue.")(_steer(resume_issue, "resumed"))
    issues.command("cancel", help="Stop this issue for good; unsent deliveries are skipped.")(
        _steer(cancel_issue, "cancelled")
    )

    @main.command()
    @click.option("--list", "list_slug", metavar="SLUG")
    @click.pass_context
    def status(ctx, list_slug) -> None:
        """Deliveries of the latest issue by status: queued, sending, sent, failed, bounced, skipped."""
        runtime = runtime_of(ctx)
        with runtime.transaction() as session:
            ml = get_list(session, list_slug)
            issue = session.scalar(
                select(models.Issue).where(models.Issue.list_id == ml.id).order_by(models.Issue.number.desc()).limit(1)
            )
            slot = f"{WEEKDAYS[ml.send_weekday]} {ml.send_time} ({ml.time_zone}, in each subscriber's zone)"
            click.echo(f"list {ml.slug}: weekly slot {slot}, {'on' if ml.schedule_enabled else 'off'}")
            if issue is None:
                click.echo("no issue yet")
                return
            counts = delivery_counts(session, issue.id)
            click.echo(f"issue {issue.number} ({issue.period_start} – {issue.period_end}): {issue.status}")
            for column in DeliveryStatus:
                click.echo(f"  {column:<10} {counts.get(column, 0):>8}")

    @main.group("lists")
    def lists_group() -> None:
        """Show lists and set their weekly schedule."""

    @lists_group.command("schedule")
    @click.argument("slug")
    @click.option("--weekday", help="monday … sunday")
    @click.option("--time", "at", metavar="HH:MM", help="Local time of the slot.")
    @click.option("--tz", help="The list's time zone (IANA name); it decides which week an issue covers.")
    @click.option("--rate", type=float, help="Messages per second at most (0 = no limit).")
    @click.option("--enable/--disable", default=None, help="Turn scheduled sending on or off.")
    @click.pass_context
    def lists_schedule(ctx, slug, weekday, at, tz, rate, enable) -> None:
        """Set when SLUG's issue goes out each week."""
        runtime = runtime_of(ctx)
        with runtime.transaction() as session:
            ml = get_list(session, slug)
            day = parse_weekday(weekday) if weekday else ml.send_weekday
            hhmm = at or ml.send_time
            try:
                hours, minutes = (int(x) for x in hhmm.split(":"))
                slot_time = time(hours, minutes)
            except ValueError:
                raise click.BadParameter(f"{hhmm!r} is not a time like 08:00", param_hint="--time") from None
            Slot(day, slot_time, tz or ml.time_zone)  # validates the zone
            ml.send_weekday, ml.send_time = day, slot_time.strftime("%H:%M")
            ml.time_zone = tz or ml.time_zone
            if rate is not None:
                ml.rate_limit = rate or None
            if enable is not None:
                ml.schedule_enabled = enable
            click.echo(
                f"{ml.slug}: {WEEKDAYS[ml.send_weekday]} {ml.send_time} {ml.time_zone}, "
                f"rate {ml.rate_limit or 'unlimited'}/s, {'on' if ml.schedule_enabled else 'off'}"
            )
