"""`digest articles …`: `tag` prints the regions and topic the tagger finds for articles in a JSON Lines file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from digest.cli.context import current_runtime
from digest.core.domain import Problem, Topic
from digest.core.regions import RegionIndex
from digest.core.tagging import NO_PLACE, Tagging, TopicRules, default_rules, tag_article
from digest.services.lists import get_list, list_info


@click.group("articles")
def articles_group() -> None:
    """Look at articles before they are stored."""


def read_articles(path: Path) -> Iterator[tuple[int, dict[str, str] | Problem]]:
    """(line number, {"title", "body"} or the Problem with that line), for each line that is not blank."""
    source = str(path)
    with path.open("rb") as lines:
        for number, raw in enumerate(lines, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                message = f"not UTF-8 text ({exc.reason} at byte {exc.start})"
                bad = {"offset": str(exc.start), "byte": f"0x{raw[exc.start]:02x}"}
                yield number, Problem(message, source, number, code="file_not_utf8", params=bad)
                continue
            if line.strip():
                yield number, _article(line, source, number)


def _article(line: str, source: str, number: int) -> dict[str, str] | Problem:
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        column = {"column": str(exc.colno)}
        return Problem(f"not JSON: {exc.msg} (column {exc.colno})", source, number, code="json_invalid", params=column)
    if not isinstance(item, dict):
        kind = {"type": type(item).__name__}
        return Problem("not a JSON object", source, number, code="json_not_object", params=kind)
    title, body = item.get("title"), item.get("body", "")
    if not isinstance(title, str) or not title.strip():
        return Problem(
            "missing: an article needs a title (a non-empty string)",
            source,
            number,
            "title",
            code="field_missing",
            params={"field": "title"},
        )
    if not isinstance(body, str):
        kind = {"field": "body", "type": type(body).__name__}
        return Problem("must be a string (HTML or text)", source, number, "body", code="field_not_string", params=kind)
    return {"title": title, "body": body}


def tag_output(tagging: Tagging, regions: RegionIndex, topic_names: dict[str, str]) -> dict[str, Any]:
    """The printed object: exactly regions, region_names, topic (the list's name for it), confidence, why."""
    found, topic = tagging.regions, tagging.topic
    why = list(found.why) if found.codes else [found.reason or NO_PLACE]
    why.extend(topic.why)
    return {
        "regions": list(found.codes),
        "region_names": [regions.display(code) for code in found.codes],
        "topic": topic_names.get(topic.slug) if topic.slug else None,
        "confidence": topic.confidence if topic.slug else 0.0,
        "why": why,
    }


def _list_rules(list_slug: str | None) -> tuple[TopicRules, dict[str, str]]:
    with current_runtime().transaction() as session:
        topics: tuple[Topic, ...] = list_info(get_list(session, list_slug)).topics
    return default_rules(topics), {t.slug: t.name for t in topics}


@articles_group.command("tag")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--list", "list_slug", metavar="SLUG", help="The list whose topics to choose from (default: the default list)."
)
def tag(file: Path, list_slug: str | None) -> None:
    """Print the regions and topic found for each article of FILE.jsonl (objects with title and body).

    One JSON object per input line, in order: regions (codes), region_names, topic (a topic of the list,
    or null), confidence, why. Bad lines are reported on stderr and skipped. Changes nothing.
    """
    rules, topic_names = _list_rules(list_slug)
    regions = current_runtime().regions
    bad = 0
    for _, article in read_articles(file):
        if isinstance(article, Problem):
            click.secho(str(article), fg="red", err=True)
            bad += 1
            continue
        tagging = tag_article(article["title"], article["body"], regions, rules)
        click.echo(json.dumps(tag_output(tagging, regions, topic_names), ensure_ascii=False))
    if bad:
        raise click.ClickException(f"{file}: {bad} line(s) not tagged")
