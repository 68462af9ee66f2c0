"""`digest send`, `digest demo` and `digest issues retry` share this: send an issue now, print its ledger,
exit by what became of it."""

from __future__ import annotations

from datetime import date

import click

from digest.cli.output import progressbar
from digest.core.statuses import DeliveryStatus
from digest.services.delivery.batches import send_pending
from digest.services.delivery.handout import hand_to_workers
from digest.services.delivery.plan import SendResult, handed_to_workers, ledger_result, plan_and_start
from digest.services.delivery.sender import Pace
from digest.services.runtime import Runtime

# Exit codes of `digest send`, `digest demo` and `digest issues retry`: 0 every delivery went
# (or was rightly skipped); 1 some failed or bounced, each for its own subscriber; 3 the run
# stopped on a fault of the installation or configuration and marked nobody failed.
EXIT_SOME_FAILED = 1
EXIT_STOPPED = 3


class RunStopped(click.ClickException):
    """The installation or configuration stopped the run: one line on stderr, exit 3, no row blamed."""

    exit_code = EXIT_STOPPED


def run_send(runtime: Runtime, list_slug: str | None, period_end: date) -> SendResult:
    """Plan and start the week's issue, then send it now."""
    issue_id, pending = plan_and_start(runtime, list_slug, period_end)
    return deliver_issue(runtime, issue_id, pending, period_end)


def deliver_issue(runtime: Runtime, issue_id: int, pending: int, period_end: date) -> SendResult:
    """The issue's due rows: handed to the workers with a broker, else sent here and now."""
    queued = hand_to_workers(runtime, issue_id)
    if queued is not None:
        return handed_to_workers(issue_id, queued, period_end)
    try:
        transport = runtime.open_transport()
    except (ValueError, OSError) as exc:  # DIGEST_SMTP_URL malformed, the outbox not writable
        raise RunStopped(f"sending stopped, no delivery was marked failed: cannot open the transport: {exc}") from None
    with (
        transport,
        progressbar(length=pending, label=f"sending issue {issue_id}") as bar,
    ):
        report = send_pending(runtime, issue_id, transport, pace=Pace(progress=bar.update))
    return ledger_result(runtime, issue_id, report)


def print_send_table(result: SendResult) -> None:
    if not result.lines and DeliveryStatus.QUEUED in result.report.counts:
        click.echo(
            f"{result.report.counts[DeliveryStatus.QUEUED]} deliveries handed to the workers; "
            "watch them with `digest status`"
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
    colours: dict[str, str] = {DeliveryStatus.SENT: "green", DeliveryStatus.SKIPPED: "yellow"}
    for line in result.lines:
        colour = colours.get(line.status, "red")
        status = click.style(f"{line.status:<10}", fg=colour)
        click.echo(f"{line.email:<{email_w}}  {status} {line.articles:>8}  {line.detail}")


def exit_for(result: SendResult, retry_hint: str) -> None:
    """After the table: exit 3 if the run stopped on a setup fault, 1 if any delivery of it failed."""
    if result.report.halted:
        raise RunStopped(
            f"sending stopped, no delivery was marked failed: {result.report.halted}; fix that and run it again"
        )
    failed = sum(result.report.counts.get(status, 0) for status in (DeliveryStatus.FAILED, DeliveryStatus.BOUNCED))
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
