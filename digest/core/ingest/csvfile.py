"""CSV articles: a header row, then one article per row, same fields as JSON Lines."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import datetime

from digest.core.domain import ParsedArticle, ParseResult, Problem
from digest.core.ingest.jsonl import OPTIONAL_FIELDS, REQUIRED_FIELDS, article_from_record

_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")


class CountingLines:
    """Feeds csv one physical line at a time and remembers where each record began.

    `csv.reader.line_num` only says where a record *ended*; a problem must point
    at where the row starts, which differs when a quoted cell spans lines.
    """

    def __init__(self, text: str):
        # Lines as io.StringIO(text, newline="") gives them (ending at \n, \r\n or \r, kept), found in the
        # text itself: a StringIO holds its own copy, four bytes a character, 200 MB for a million subscribers.
        self._lines = (match.group() for match in _LINE.finditer(text))
        self.consumed = 0
        self.first_nonblank: int | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.consumed += 1
        if self.first_nonblank is None and line.strip("\r\n"):
            self.first_nonblank = self.consumed
        return line


def parse_csv(
    text: str,
    source: str = "<csv>",
    default_published: datetime | None = None,
) -> ParseResult:
    """Rows with a problem are reported and skipped; the header must name the required columns."""
    lines = CountingLines(text.removeprefix("\ufeff"))
    reader = csv.DictReader(lines, strict=False)
    _read_header(reader, lines, source, default_published)
    wanted = set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)

    articles: list[ParsedArticle] = []
    problems: list[Problem] = []
    while True:
        lines.first_nonblank = None
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(unreadable_row(exc, source, lines.consumed))
            continue
        line = lines.first_nonblank or lines.consumed
        extra = row.pop(None, None)
        if all(v is None or not v.strip() for v in row.values()) and not extra:
            continue  # a row of empty cells, as spreadsheets leave at the end
        if extra and any(cell.strip() for cell in extra):
            problems.append(
                Problem(
                    f"row has {len(extra)} more cell(s) than the header (an unquoted comma?)",
                    source=source,
                    line=line,
                    code="csv_extra_cells",
                    params={"count": len(extra)},
                )
            )
            continue
        record = {k: v for k, v in row.items() if k in wanted}
        article, row_problems = article_from_record(record, source, line, default_published)
        problems.extend(row_problems)
        if article is not None:
            articles.append(article)
    return ParseResult(articles=tuple(articles), problems=tuple(problems))


def unreadable_row(exc: csv.Error, source: str, line: int) -> Problem:
    """The row the reader could not read; the rows after it are read on."""
    limit = csv.field_size_limit()
    if "field larger than field limit" in str(exc):  # CPython's words; the csv module has no error types
        return Problem(
            f"a cell is longer than {limit} characters",
            source=source,
            line=line,
            code="csv_cell_too_long",
            params={"max": limit},
        )
    return Problem(f"unreadable CSV: {exc}", source=source, line=line, code="csv_bad_row", params={"error": exc})


def _read_header(
    reader: csv.DictReader[str], lines: CountingLines, source: str, default_published: datetime | None
) -> None:
    """Read the header row into `reader.fieldnames`, lower-cased; a header that cannot serve raises
    IngestFormatError (one problem for the file, at the header's line)."""
    from digest.core.ingest import IngestFormatError

    try:
        raw_header = reader.fieldnames
    except csv.Error as exc:
        raise IngestFormatError(
            Problem(
                f"unreadable CSV header: {exc}", source=source, line=1, code="csv_bad_header", params={"error": exc}
            )
        ) from None
    if not raw_header:
        raise IngestFormatError(Problem("no header row", source=source, line=1, code="csv_no_header"))
    header_line = lines.first_nonblank or 1
    header = [name.strip().lower() for name in raw_header]
    # Header names are matched loosely because spreadsheets add stray spaces
    # and capitals; the cells keep their case.
    reader.fieldnames = header

    required = [f for f in REQUIRED_FIELDS if not (f == "published" and default_published is not None)]
    missing = [f for f in required if f not in header]
    if missing:
        found = ", ".join(h for h in header if h)
        raise IngestFormatError(
            Problem(
                f"the header row lacks required column(s) {', '.join(missing)} (found: {found or 'nothing'})",
                source=source,
                line=header_line,
                field=missing[0],
                code="csv_missing_columns" if found else "csv_missing_columns_blank",
                params={"missing": ", ".join(missing), "found": found},
            )
        )
    duplicates = sorted({h for h in header if h and header.count(h) > 1})
    if duplicates:
        raise IngestFormatError(
            Problem(
                f"duplicate column(s) {', '.join(duplicates)}",
                source=source,
                line=header_line,
                code="csv_duplicate_columns",
                params={"columns": ", ".join(duplicates)},
            )
        )
