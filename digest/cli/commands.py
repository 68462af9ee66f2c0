"""The `digest` console script: a thin edge over digest.services."""

from __future__ import annotations

import sys
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import click

from digest.adapters.storage.db import upgrade_database
from digest.cli.admin import admin
from digest.cli.articles import articles_group
from digest.cli.bounces import bounces_group
from digest.cli.context import DigestGroup, current_runtime
from digest.cli.issues import issues, status
from digest.cli.lists import lists_group
from digest.cli.output import print_table, progressbar, say
from digest.cli.sources import sources_group
from digest.core.domain import Problem
from digest.core.ingest import IngestFormatError, parse_file
from digest.core.regions import split_labels
from digest.core.statuses import SubscriptionStatus
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.footer import FooterOffer
from digest.services.form_mails import owe_confirmation, send_form_mails
from digest.services.lists import ensure_default_list, get_list
from digest.services.subscriber_export import stream_subscriptions
from digest.services.subscriber_import import ImportReport, import_csv
from digest.services.subscribers import (
    export_rows,
    upsert_subscription,
    write_csv,
)


def _report_problems(problems: list[Problem], bar: Any = None) -> None:
    for problem in problems:
        colour = "red" if problem.severity == "error" else "yellow"
        if bar is None:
            click.secho(str(problem), fg=colour, err=True)
        else:
            say(bar, str(problem), colour)


_FOOTER_WORDS = {"credits": "credits", "contact_email": "contact address", "postal_address": "postal address"}


def _report_footer(offer: FooterOffer, source: str, slug: str, bar: Any) -> None:
    """What became of a newsletter file's footer: the list's empty fields it filled, and those it did not."""

    def named(fields: tuple[str, ...]) -> str:
        return ", ".join(_FOOTER_WORDS[f] for f in fields)

    if offer.applied:
        say(bar, f"{source}: the file's {named(offer.applied)} now fill list {slug}'s, which had none", "green")
    if offer.differing:
        say(
            bar,
            f"{source}: the file's {named(offer.differing)} differ from list {slug}'s; not applied "
            "(the list keeps its own: change them in its settings)",
            "yellow",
        )
    if offer.refused:
        say(bar, f"{source}: the file's {named(offer.refused)} not applied: the list's settings refuse them", "yellow")


def _parse_day(value: str | None, flag: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-28", param_hint=flag) from None


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="digest")
def main() -> None:
    """Per-subscriber email digests: each subscriber gets exactly the articles they asked for.

    Configuration comes from the environment or a .env file: DIGEST_DATABASE_URL,
    DIGEST_SMTP_URL, DIGEST_OUTBOX, DIGEST_SECRET_KEY, DIGEST_BASE_URL, DIGEST_BROKER_URL,
    DIGEST_NOW (sets the clock, for rehearsals and tests).
    """


@main.command()
def init() -> None:
    """Create or upgrade the database, with the default list and its topics."""
    runtime = current_runtime()
    upgrade_database(runtime.settings.database_url)
    with runtime.transaction() as session:
        ml = ensure_default_list(session)
        click.echo(f"database ready: {runtime.settings.database_url}")
        click.echo(f"list {ml.slug} ({ml.name}): topics {'、'.join(t.name for t in ml.topics)}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--list", "list_slug", metavar="SLUG", help="The list the articles belong to (default: the default list)."
)
@click.option("--published", metavar="YYYY-MM-DD", help="Publication date for articles that carry none (default: now).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["newsletter", "jsonl", "csv"]),
    help="Override the format guessed from the file name.",
)
@click.pass_context
def ingest(
    ctx: click.Context, files: tuple[Path, ...], list_slug: str | None, published: str | None, fmt: str | None
) -> None:
    """Load articles from newsletter text, JSON Lines or CSV files.

    Bad rows are reported with file, line and field; good rows are kept.
    Re-ingesting the same article adds nothing.
    """
    runtime = current_runtime()
    day = _parse_day(published, "--published")
    when = datetime.combine(day, time(8), NEWSROOM_TZ) if day else runtime.settings.clock.local(NEWSROOM_TZ)
    totals = {"added": 0, "waiting": 0, "unchanged": 0, "rejected": 0}
    failed_files = 0
    with progressbar(files, label="ingesting", item_show_func=lambda p: p and p.name) as bar:
        for path in bar:
            try:
                parsed = parse_file(path, default_published=when, fmt=fmt)
            except IngestFormatError as exc:
                _report_problems([exc.problem], bar)
                failed_files += 1
                continue
            with runtime.transaction() as session:
                ml = get_list(session, list_slug)
                report = store_articles(session, ml, parsed, runtime.regions, source=str(path), published=when)
                slug = ml.slug
            _report_problems(report.problems, bar)
            _report_footer(report.footer, str(path), slug, bar)
            totals["added"] += report.added
            totals["waiting"] += report.waiting
            totals["unchanged"] += report.unchanged
            totals["rejected"] += report.rejected
    # Articles the tagger placed unsure (or nowhere) are added but go into no issue until an editor confirms.
    waiting = f" ({totals['waiting']} wait for review: /admin/review)" if totals["waiting"] else ""
    click.echo(
        f"{totals['added']} added{waiting}, {totals['unchanged']} already stored, "
        f"{totals['rejected']} rejected, {failed_files} file(s) unreadable"
    )
    if failed_files or totals["rejected"]:
        ctx.exit(1)


@main.group()
def subscribers() -> None:
    """Add, import, list and export subscribers."""


@subscribers.command("add")
@click.argument("email")
@click.option("--name", default="", help="How to greet them.")
@click.option("--regions", default="", metavar="R,..", help="Regions as people write them (湖南, 怀化, 全国) or codes.")
@click.option("--topics", default="", metavar="T,..", help="Topics by name (产业发展) or slug; none = all topics.")
@click.option("--list", "list_slug", metavar="SLUG")
@click.option("--confirmed", is_flag=True, help="Skip double opt-in (they agreed elsewhere).")
def subscribers_add(email, name, regions, topics, list_slug, confirmed) -> None:
    """Subscribe EMAIL to a list with their picks (or update the picks).

    Without --confirmed they are pending and get the confirmation mail the subscribe form sends: issues
    reach them once they confirm."""
    runtime = current_runtime()
    mail_owed = None
    with runtime.transaction() as session:
        ml = get_list(session, list_slug)
        sub, created, warnings = upsert_subscription(
            session,
            ml,
            runtime.regions,
            email=email,
            name=name,
            region_labels=split_labels(regions),
            topic_labels=split_labels(topics),
            status=SubscriptionStatus.CONFIRMED if confirmed else SubscriptionStatus.PENDING,
        )
        for warning in warnings:
            click.secho(f"warning: {warning}", fg="yellow", err=True)
        picked = ", ".join(runtime.regions.display(c) for c in sub.region_codes) or "every region"
        click.echo(f"{'added' if created else 'updated'} {sub.subscriber.email} on {ml.slug} ({sub.status}): {picked}")
        address = sub.subscriber.email
        if not confirmed:
            mail_owed = owe_confirmation(session, sub.subscriber_id, ml.id, runtime.clock.now())
    if mail_owed is not None:
        _send_confirmation(runtime, address, mail_owed)


def _send_confirmation(runtime, address: str, owed: bool) -> None:
    """Sends the confirmation mail just recorded (with the others waiting, as the form's are sent) and says
    what became of it."""
    if not owed:
        click.secho(f"warning: {address} is on the suppression list: no confirmation mail sent", fg="yellow", err=True)
        return
    report = send_form_mails(runtime)
    if report.retry:
        click.secho(
            f"warning: the mail server put off the confirmation mail to {address}: it waits, and goes with the "
            "next send of form mails (the workers' tick, or the next `digest subscribers add`)",
            fg="yellow",
            err=True,
        )
    elif report.dropped:
        click.secho(f"warning: the mail server refused the confirmation mail to {address}", fg="yellow", err=True)
    else:
        click.echo(f"confirmation mail sent to {address}: issues reach them once they confirm")


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "list_slug", metavar="SLUG")
@click.pass_context
def subscribers_import(ctx, file: Path, list_slug) -> None:
    """Import FILE.csv with columns email,name,regions,topics[,status] (status defaults to confirmed)."""
    runtime = current_runtime()
    try:
        text = file.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{file}: not UTF-8 text (byte {exc.start})") from None
    rows = max(text.count("\n"), 1)
    with runtime.transaction() as session:
        list_id = get_list(session, list_slug).id
    with progressbar(length=rows, label="importing") as bar:
        shown = [0]

        def advance(_session, report: ImportReport) -> None:
            bar.update(report.rows_done - shown[0])
            shown[0] = report.rows_done

        report = import_csv(runtime.sessions, list_id, runtime.regions, text, source=str(file), progress=advance)
    _report_problems(report.problems)
    click.echo(f"{report.added} added, {report.updated} updated, {report.skipped} row(s) rejected")
    if any(p.severity == "error" for p in report.problems):
        ctx.exit(1)


@subscribers.command("list")
@click.option("--list", "list_slug", metavar="SLUG")
def subscribers_list(list_slug) -> None:
    """Show the subscribers of a list and their picks."""
    runtime = current_runtime()
    with runtime.transaction() as session:
        ml = get_list(session, list_slug)
        rows = export_rows(stream_subscriptions(session, ml, runtime.regions), runtime.regions, ml)
        print_table(row[:5] for row in rows)


@subscribers.command("export")
@click.option("--list", "list_slug", metavar="SLUG")
def subscribers_export(list_slug) -> None:
    """Write the subscribers of a list as CSV to standard output."""
    runtime = current_runtime()
    with runtime.transaction() as session:
        ml = get_list(session, list_slug)
        write_csv(export_rows(stream_subscriptions(session, ml, runtime.regions), runtime.regions, ml), sys.stdout)


@main.command()
@click.argument("email")
@click.option("--list", "list_slug", metavar="SLUG")
@click.option("--format", "fmt", type=click.Choice(["html", "text"]), default="text", show_default=True)
@click.option("--period-end", metavar="YYYY-MM-DD", help="Last day of the week to preview (default: today).")
def preview(email, list_slug, fmt, period_end) -> None:
    """Print the digest EMAIL would get, without sending it."""
    from digest.services.delivery.preview import preview_week

    runtime = current_runtime()
    end = _parse_day(period_end, "--period-end") or runtime.settings.clock.today(NEWSROOM_TZ)
    with runtime.transaction() as session:
        ml = get_list(session, list_slug)
        digest, rendered = preview_week(runtime, session, ml, email, end)
    if digest.article_count == 0:
        click.secho(f"nothing this week matches {email}'s picks: they would get no message", fg="yellow", err=True)
        return
    click.echo(f"Subject: {rendered.subject}", err=True)
    click.echo(rendered.html if fmt == "html" else rendered.text)


@main.command()
@click.option("--list", "list_slug", metavar="SLUG")
@click.option("--period-end", metavar="YYYY-MM-DD", help="Last day of the seven the issue covers (default: today).")
def send(list_slug, period_end) -> None:
    """Assemble and deliver an issue now, once per subscriber whatever happens."""
    from digest.cli.sendout import exit_for, print_send_table, run_send

    runtime = current_runtime()
    # The design's contract: the seven days that end today. A week that overlaps a scheduled one repeats
    # nothing to a reader: their copy leaves out what their sent copies of it held.
    end = _parse_day(period_end, "--period-end") or runtime.settings.clock.today(NEWSROOM_TZ)
    result = run_send(runtime, list_slug, end)
    print_send_table(result)
    exit_for(result, f"digest issues retry {result.issue_number}" + (f" --list {list_slug}" if list_slug else ""))


@main.command()
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0 for every interface)."
)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535), help="TCP port to listen on.")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving requests: with several, one slow admin page never holds up the one-click links.",
)
@click.option(
    "--access-log/--no-access-log",
    default=True,
    show_default=True,
    help="A line per request on standard error; behind a proxy that logs them already, off saves CPU.",
)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Serve the web app: subscriber pages, the admin console (/admin/) and the JSON API (/api/v1)."""
    import uvicorn

    from digest.web import create_app

    # proxy_headers: behind a reverse proxy the rate limit must count the client, not the proxy.
    if workers == 1:
        uvicorn.run(create_app(current_runtime()), host=host, port=port, proxy_headers=True, access_log=access_log)
        return
    current_runtime()  # the settings are checked here, once, before any worker starts
    from digest.cli.serving import APP, Workers, shared_ports_supported

    # Each worker process builds its own app (and Runtime) from the same environment.
    if shared_ports_supported():
        sys.exit(Workers(host, port, workers, access_log).run())
    uvicorn.run(APP, factory=True, host=host, port=port, workers=workers, proxy_headers=True, access_log=access_log)


@main.command()
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    help="Maildir to write the messages to (default: ./outbox).",
)
def demo(outbox: Path | None) -> None:
    """Run the whole job on embedded defaults: SQLite, in-process tasks, a Maildir outbox."""
    from digest.cli.demo import run_demo

    run_demo(current_runtime(), outbox)


for command in (issues, status, lists_group, sources_group, admin, articles_group, bounces_group):
    main.add_command(command)


if __name__ == "__main__":
    main()
