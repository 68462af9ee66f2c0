"""`digest bounces …`: read the bounce mailbox now, and see and undo what the delivery loop decided."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from digest.adapters.mailboxes import MailboxError
from digest.adapters.storage import models
from digest.cli.context import current_runtime
from digest.cli.output import print_table
from digest.services import NotFound
from digest.services.bounces.polling import NoMailbox, poll_mailbox
from digest.services.suppressions import remove_suppression, search_suppressions


@click.group("bounces")
def bounces_group() -> None:
    """The delivery loop: bounces, complaints and mailto unsubscribes, and the suppressions they led to."""


@bounces_group.command("poll")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Read at most N mails this time.")
def bounces_poll(limit: int | None) -> None:
    """Read the bounce mailbox (DIGEST_BOUNCE_MAILBOX) once: act on every bounce, complaint and unsubscribe."""
    runtime = current_runtime()
    try:
        report = poll_mailbox(runtime, limit=limit)
    except (NoMailbox, MailboxError) as exc:
        raise click.ClickException(str(exc)) from None
    if report.busy:
        raise click.ClickException("another poll is reading the bounce mailbox now; nothing was read")
    seen = f", {report.seen_before} read before" if report.seen_before else ""
    click.echo(f"{report.mails} mail(s) read{seen}: {report.events} new event(s), {report.unparsed} not understood")
    for what, count in sorted(report.decisions.items()):
        click.echo(f"  {count:>6}  {what}")
    if report.unparsed:
        click.echo("mail not understood stays in the mailbox for a person: `digest bounces unparsed`", err=True)


@bounces_group.command("events")
@click.option("--email", help="Only this address's.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
def bounces_events(email: str | None, limit: int) -> None:
    """The latest events, newest first: when, kind, address, status, source, decision and why."""
    e = models.MailEventRow
    query = select(e).order_by(e.id.desc()).limit(limit)
    if email:
        query = query.where(e.email == email.strip())
    with current_runtime().transaction() as session:
        rows = [
            (
                row.created_at.strftime("%Y-%m-%d %H:%M"),
                row.kind,
                row.email or "-",
                row.status or "-",
                row.source,
                row.decision,
                row.decision_detail,
            )
            for row in session.scalars(query)
        ]
    print_table([("when (UTC)", "kind", "address", "status", "source", "decision", "why"), *rows])


@bounces_group.command("unparsed")
@click.option("--show", "show_id", type=int, metavar="ID", help="Print mail ID's raw source.")
def bounces_unparsed(show_id: int | None) -> None:
    """Mail of the bounce mailbox nobody could read, kept for a person; --show ID prints one's raw source."""
    m = models.InboundMail
    with current_runtime().transaction() as session:
        if show_id is not None:
            mail = session.get(m, show_id)
            if mail is None:
                raise click.ClickException(f"no unparsed mail with id {show_id}")
            sys.stdout.buffer.write(mail.raw)
            return
        query = select(m).where(m.dismissed_at.is_(None)).order_by(m.id.desc()).limit(200)
        rows = [
            (row.id, row.received_at.strftime("%Y-%m-%d %H:%M"), row.sender or "-", row.subject or "-", row.why)
            for row in session.scalars(query)
        ]
    print_table([("id", "kept (UTC)", "from", "subject", "why"), *rows])


@bounces_group.command("suppressed")
@click.option("--search", default="", help="Only addresses or reasons holding this text.")
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
def bounces_suppressed(search: str, limit: int) -> None:
    """The suppression list, newest first, with what put each address there."""
    with current_runtime().transaction() as session:
        found, total = search_suppressions(session, search, limit=limit)
        rows = [(s.email, s.kind, s.created_at.strftime("%Y-%m-%d %H:%M"), s.reason) for s in found]
    print_table([("address", "kind", "since (UTC)", "reason"), *rows])
    if total > len(rows):
        click.echo(f"({len(rows)} of {total}; --limit to see more)", err=True)


@bounces_group.command("unsuppress")
@click.argument("email")
def bounces_unsuppress(email: str) -> None:
    """Lift EMAIL's suppression (a bounce or complaint misread, a mailbox fixed); its bounce score starts again."""
    with current_runtime().transaction() as session:
        try:
            address = remove_suppression(session, email=email)
        except NotFound:
            raise click.ClickException(f"{email} is not suppressed") from None
    click.echo(f"{address} may be sent to again (its subscriptions are as they were; a complaint's were left)")
