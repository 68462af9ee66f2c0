"""JSON Lines articles: one object per line.

The record rules (`article_from_record`) are shared with CSV, whose rows carry
the same fields; only the way a record is read differs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from digest.core.domain import ParsedArticle, ParseResult, Problem
from digest.core.fields import ARTICLE_FIELD_LIMITS, MAX_REGION_LABEL, unfit_for_one_line, unstorable
from digest.core.sanitize import paragraphs_to_html, sanitize_html

try:
    from zoneinfo import ZoneInfo

    CHINA_TZ: Any = ZoneInfo("Asia/Shanghai")
except Exception:  # pragma: no cover - a system without tzdata
    # China has kept UTC+8 without daylight saving since 1991, so a fixed
    # offset is exact for any date an article could carry.
    CHINA_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

REQUIRED_FIELDS = ("title", "body", "published")
# Without topic or regions, the tagger finds them when the article is stored (services/placing.py).
OPTIONAL_FIELDS = ("topic", "regions", "source", "url", "region_label")

# Separators people use between regions: ASCII and full-width commas, the
# enumeration comma, and semicolons from spreadsheet habits.
_REGION_SPLIT = re.compile(r"[,，、;；]")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(\s[^<>]*)?/?>|<!--")
_BLOCK_TAG = re.compile(r"<(p|ul|ol|table|blockquote|h3|h4|figure)[\s>]")
_BLANK_LINE = re.compile(r"\n[ \t\u3000\f\v]*\n")


def aware(moment: datetime | date) -> datetime:
    """Attach China time to a naive datetime (or a date); the newsletter's readers live there."""
    if not isinstance(moment, datetime):
        return datetime.combine(moment, time(), CHINA_TZ)
    return moment.replace(tzinfo=CHINA_TZ) if moment.tzinfo is None else moment


def parse_published(value: str) -> datetime:
    """ISO date or datetime to an aware datetime; ValueError when it is neither."""
    text = value.strip()
    if not text:
        raise ValueError("empty")
    if len(text) <= 10:
        # A bare date means the start of that day in China, not UTC midnight,
        # so a 2021-06-17 article falls in the week that contains 17 June there.
        return datetime.combine(date.fromisoformat(text), time(), CHINA_TZ)
    return aware(datetime.fromisoformat(text))


def body_to_html(body: str) -> str:
    """HTML is sanitised; plain text becomes paragraphs split on blank lines."""
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not _HTML_TAG.search(text):
        return paragraphs_to_html(_BLANK_LINE.split(text))
    cleaned = sanitize_html(text)
    if _BLOCK_TAG.search(cleaned):
        return cleaned
    # Text with a few inline tags (<b>, <a>) is still laid out by blank lines;
    # the second pass repairs any inline element a paragraph split cut through.
    parts = [part.strip() for part in _BLANK_LINE.split(cleaned) if part.strip()]
    return sanitize_html("\n".join(f"<p>{part}</p>" for part in parts))


def split_regions(value: str) -> list[str]:
    return [part.strip() for part in _REGION_SPLIT.split(value) if part.strip()]


class _RecordCheck:
    """One record's fields as they are read, and the problems found in them, each at the record's line."""

    def __init__(self, record: Mapping[str, Any], source: str, line: int):
        self.record, self.source, self.line = record, source, line
        self.problems: list[Problem] = []

    def bad(self, field: str, message: str, code: str, **params: object) -> None:
        self.problems.append(
            Problem(
                message, source=self.source, line=self.line, field=field, code=code, params={"field": field, **params}
            )
        )

    def text(self, name: str, required: bool) -> str | None:
        """The field stripped, or None when absent, blank or not a string (a problem unless optional and absent)."""
        value = self.record.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                if value is None:
                    self.bad(name, f"{name} is missing", "field_missing")
                else:
                    self.bad(name, f"{name} is empty", "field_empty")
            return None
        if not isinstance(value, str):
            kind = type(value).__name__
            self.bad(name, f"{name} must be a string, not {kind}", "field_not_string", type=kind)
            return None
        return self._fits(name, value.strip())

    def _fits(self, name: str, value: str) -> str | None:
        """The value when its column can hold it; a too-long or multi-line value is this record's problem."""
        limit = ARTICLE_FIELD_LIMITS[name]
        if len(value) > limit:
            self.bad(name, f"{name} is {len(value)} characters long, at most {limit}", "field_too_long", max=limit)
            return None
        if name != "body" and (char := unfit_for_one_line(value)):
            self.bad(name, f"{name} holds {char}: no control character or line break", "field_control", char=char)
            return None
        if name == "body" and (char := unstorable(value)):
            self.bad(name, f"{name} holds {char}, which no text can store", "field_control", char=char)
            return None
        return value

    def regions(self) -> list[str]:
        """The region labels, from a list of strings or one string of several; none (missing, or empty) leaves
        the article's regions to the tagger."""
        raw_regions = self.record.get("regions")
        regions: list[str] = []
        if isinstance(raw_regions, str):
            regions = split_regions(raw_regions)
        elif isinstance(raw_regions, list):
            if not all(isinstance(r, str) for r in raw_regions):
                self.bad("regions", "regions must be a list of strings", "regions_not_strings")
            else:
                regions = [r.strip() for r in raw_regions if r.strip()]
        elif raw_regions is not None:
            kind = type(raw_regions).__name__
            self.bad("regions", f"regions must be a list or a string, not {kind}", "regions_bad_type", type=kind)
        if any(len(r) > MAX_REGION_LABEL or unfit_for_one_line(r) for r in regions):
            self.bad("regions", "a region is too long or holds a control character", "regions_unfit")
            return []
        return regions

    def published(self, default_published: datetime | None) -> datetime | None:
        """The publication time, or the default when the record has none."""
        raw_published = self.record.get("published")
        if raw_published is None or (isinstance(raw_published, str) and not raw_published.strip()):
            if default_published is not None:
                return aware(default_published)
            self.bad("published", "published is missing and no default publication date was given", "published_missing")
        elif not isinstance(raw_published, str):
            kind = type(raw_published).__name__
            self.bad("published", f"published must be an ISO date string, not {kind}", "published_bad_type", type=kind)
        else:
            try:
                return parse_published(raw_published)
            except ValueError:
                value = raw_published.strip()
                self.bad(
                    "published", f"published {value!r} is not an ISO date or date-time", "published_bad", value=value
                )
        return None


def article_from_record(
    record: Mapping[str, Any],
    source: str,
    line: int,
    default_published: datetime | None,
) -> tuple[ParsedArticle | None, list[Problem]]:
    """Validate one flat record; the article is None when any field is unusable."""
    # The problems come in the order the fields are read here, which the error reports (and their tests) keep.
    check = _RecordCheck(record, source, line)
    title = check.text("title", True)
    body = check.text("body", True)
    topic = check.text("topic", False)
    item_source = check.text("source", False)
    region_label = check.text("region_label", False)
    regions = check.regions()
    published = check.published(default_published)
    url = check.text("url", False)
    if url is not None and not url.lower().startswith(("http://", "https://")):
        check.bad("url", f"url {url!r} must start with http:// or https://", "url_bad_scheme", value=url)
    body_html = ""
    if body is not None:
        body_html = body_to_html(body)
        if not body_html.strip():
            check.bad("body", "body is empty once unsafe HTML is removed", "body_empty_after_sanitising")

    if check.problems:
        return None, check.problems
    assert title and published is not None
    return (
        ParsedArticle(
            title=title,
            body_html=body_html,
            topic=topic or "",
            regions=tuple(regions),
            region_label=region_label or "、".join(regions),
            published=published,
            source=item_source,
            url=url,
            line=line,
        ),
        check.problems,
    )


class _NotJsonConstant(ValueError):
    """NaN, Infinity or -Infinity: not JSON (RFC 8259), though Python's reader takes them."""


def _refuse_constant(name: str) -> object:
    raise _NotJsonConstant(name)


def _read_object(line: str, source: str, n: int) -> dict[str, Any] | Problem:
    """Line `n` as a JSON object, or the problem that makes it none."""
    try:
        record = json.loads(line, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        return Problem(
            f"invalid JSON: {exc.msg} (column {exc.colno})",
            source=source,
            line=n,
            code="json_invalid",
            params={"error": exc.msg, "column": exc.colno},
        )
    except _NotJsonConstant as exc:
        return Problem(
            f"{exc} is not a JSON value (a number must be finite)",
            source=source,
            line=n,
            code="json_not_finite",
            params={"value": str(exc)},
        )
    except RecursionError:
        # Arrays inside arrays thousands deep: no article is shaped like that.
        return Problem("JSON nested too deeply", source=source, line=n, code="json_too_deep")
    if not isinstance(record, dict):
        kind = type(record).__name__
        return Problem(
            f"expected a JSON object, got {kind}", source=source, line=n, code="json_not_object", params={"type": kind}
        )
    return record


def parse_jsonl(
    text: str,
    source: str = "<jsonl>",
    default_published: datetime | None = None,
) -> ParseResult:
    """One JSON object per line; bad lines become problems and the rest are kept."""
    from digest.core.ingest import IngestFormatError

    text = text.removeprefix("\ufeff")
    lines = text.splitlines()
    numbered = [(n, line.strip()) for n, line in enumerate(lines, 1) if line.strip()]
    # Mislabelled files (CSV, newsletter text) would otherwise yield one
    # "invalid JSON" problem per line and bury the real mistake.
    if numbered and not any(line.startswith("{") for _, line in numbered):
        first_line, first = numbered[0]
        raise IngestFormatError(
            Problem(
                f"no line is a JSON object (first line starts {first[:30]!r}): not JSON Lines",
                source=source,
                line=first_line,
                code="jsonl_no_object",
                params={"start": first[:30]},
            )
        )

    articles: list[ParsedArticle] = []
    problems: list[Problem] = []
    for n, line in numbered:
        record = _read_object(line, source, n)
        if isinstance(record, Problem):
            problems.append(record)
            continue
        article, found = article_from_record(record, source, n, default_published)
        problems.extend(found)
        if article is not None:
            articles.append(article)
    return ParseResult(articles=tuple(articles), problems=tuple(problems))
