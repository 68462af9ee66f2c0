"""`digest sources …`: a list's feeds (RSS, Atom, JSON Feed): add, test, list, pause, resume, remove, poll now."""

from __future__ import annotations

from collections.abc import Mapping

import click

from digest.cli.context import current_runtime
from digest.cli.output import print_table
from digest.core.regions import split_labels
from digest.services.feed_polling import PollReport, poll_every_source, poll_source
from digest.services.lists import get_list, list_by_id
from digest.services.sources import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    MIN_INTERVAL,
    SourceSettings,
    add_source,
    list_sources,
    remove_source,
    set_paused,
    try_source,
)
from digest.services.validation import FieldError, Invalid

# The console words a refused field in its reader's language; the CLI says it in English, by its option.
_REFUSALS = {
    "sources_err_url": ("URL", "{why}"),
    "sources_err_taken": ("URL", "{value} is a source of this list already"),
    "sources_err_topic": ("--topic", "{value!r} is not a topic of this list (it has: {known})"),
    "sources_err_region": ("--regions", "{value!r} is not a region: {why}"),
    "sources_err_interval": ("--interval", "is a number of minutes from {min} to {max}"),
    "sources_err_fetch": ("URL", "{value}: {why}"),
}


def _refusal(errors: Mapping[str, FieldError]) -> str:
    said = []
    for error in errors.values():
        flag, words = _REFUSALS.get(error.key, (error.key, ""))
        said.append(f"{flag}: {words.format(**error.values)}")
    return "; ".join(said)


@click.group("sources")
def sources_group() -> None:
    """A list's feeds (RSS 0.9x/1.0/2.0, Atom, JSON Feed): add, list, pause, resume, remove, poll now."""


@sources_group.command("add")
@click.argument("url")
@click.option("--list", "list_slug", metavar="SLUG", help="The list it feeds (default: the default list).")
@click.option("--topic", metavar="T", help="The topic its items get when the tagger finds none (slug or name).")
@click.option("--regions", metavar="R,..", default="", help="The regions its items get when the tagger finds none.")
@click.option(
    "--interval",
    type=int,
    default=DEFAULT_INTERVAL,
    show_default=True,
    metavar="MINUTES",
    help=f"Minutes between two polls ({MIN_INTERVAL} to {MAX_INTERVAL}); a failing feed waits longer.",
)
@click.option(
    "--allow-private",
    is_flag=True,
    help="Let this source reach loopback, private and link-local addresses (refused by default).",
)
def sources_add(url, list_slug, topic, regions, interval, allow_private) -> None:
    """Add the feed at URL to a list; it is polled at the next beat."""
    runtime = current_runtime()
    wanted = SourceSettings(url, topic or None, tuple(split_labels(regions)), interval, allow_private)
    with runtime.transaction() as session:
        ml = get_list(session, list_slug)
        try:
            source = add_source(session, ml, wanted, runtime.regions, now=runtime.clock.now())
        except Invalid as exc:
            raise click.UsageError(_refusal(exc.errors)) from None
        click.echo(f"added source {source.id} to {ml.slug}: {source.url}, every {source.interval_minutes} min")
        labels = f"topic {source.topic_slug or '-'}, regions {','.join(source.region_codes) or '-'}"
        click.echo(f"items the tagger leaves unlabelled get: {labels}")
        if source.topic_slug is None or not source.region_codes:
            click.echo("note: an item the tagger cannot place, and no default covers, waits for review (/admin/review)")


@sources_group.command("test")
@click.argument("url")
@click.option("--allow-private", is_flag=True, help="Allow a loopback or private address (an admin's decision).")
def sources_test(url: str, allow_private: bool) -> None:
    """Fetch and read the feed at URL as a poll would, and show its title and first items; store nothing."""
    try:
        preview = try_source(url, allow_private=allow_private)
    except Invalid as exc:
        raise click.ClickException(_refusal(exc.errors)) from None
    click.echo(f"{preview.url}: {preview.title or '(no title)'}")
    for title in preview.item_titles:
        click.echo(f"  {title}")
    for problem in preview.problems:
        click.echo(f"warning: {problem}", err=True)


@sources_group.command("list")
@click.option("--list", "list_slug", metavar="SLUG", help="Only this list's sources (default: every list's).")
def sources_list(list_slug) -> None:
    """Every source: id, list, url, paused, last fetch, status, error."""
    with current_runtime().transaction() as session:
        ml = get_list(session, list_slug) if list_slug else None
        rows = []
        for source in list_sources(session, ml):
            fetched = source.last_fetched_at.strftime("%Y-%m-%d %H:%M UTC") if source.last_fetched_at else "never"
            status = str(source.last_status) if source.last_status is not None else "-"
            error = (source.last_error or "").replace("\n", " ")[:80]
            paused = "paused" if source.paused else "no"
            rows.append(
                (source.id, list_by_id(session, source.list_id).slug, source.url, paused, fetched, status, error)
            )
    print_table([("id", "list", "url", "paused", "last fetch", "status", "error"), *rows])


def _set_paused(source_id: int, paused: bool) -> None:
    runtime = current_runtime()
    with runtime.transaction() as session:
        source = set_paused(session, source_id, paused, now=runtime.clock.now())
        click.echo(f"source {source.id} ({source.url}) {'paused' if paused else 'resumed: polled at the next beat'}")


@sources_group.command("pause")
@click.argument("source_id", metavar="ID", type=int)
def sources_pause(source_id) -> None:
    """Stop polling source ID until it is resumed."""
    _set_paused(source_id, True)


@sources_group.command("resume")
@click.argument("source_id", metavar="ID", type=int)
def sources_resume(source_id) -> None:
    """Poll source ID again, from the next beat, its failures forgiven."""
    _set_paused(source_id, False)


@sources_group.command("remove")
@click.argument("source_id", metavar="ID", type=int)
def sources_remove(source_id) -> None:
    """Remove source ID; the articles it brought stay."""
    with current_runtime().transaction() as session:
        source = remove_source(session, source_id)
        click.echo(f"removed source {source.id} ({source.url}); its articles stay")


@sources_group.command("poll")
@click.option("--source", "source_id", metavar="ID", type=int, help="Only this source (paused or not).")
def sources_poll(source_id) -> None:
    """Poll now (every source not paused, or one) and print what was stored: new, updated, unchanged, errors.

    Exits 1 when a fetch or an item failed (each error is printed on stderr)."""
    runtime = current_runtime()
    reports = [poll_source(runtime, source_id)] if source_id is not None else poll_every_source(runtime)
    _print_reports(reports)
    if any(report.errors for report in reports):
        raise SystemExit(1)


def _print_reports(reports: list[PollReport]) -> None:
    header = ("id", "url", "status", "new", "to review", "updated", "unchanged", "kept", "errors")
    rows = [
        (r.source_id, r.url, _status(r), r.new, r.waiting, r.updated, r.unchanged, r.kept, len(r.errors))
        for r in reports
    ]
    print_table([header, *rows])
    for report in reports:
        for error in report.errors:
            click.echo(f"source {report.source_id}: {error}", err=True)


def _status(report: PollReport) -> str:
    if report.not_modified:
        return "304 (not modified)"
    return str(report.status) if report.status is not None else "no answer"
