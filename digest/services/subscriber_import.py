"""Subscribers from CSV, a chunk at a time: every row is read and checked here, then each chunk of good rows is
written with a few set-based statements (subscriber_import_chunk.py) and committed on its own.

A bad row is reported by line and field and every good row is kept. A chunk that fails stops the import: the
chunks before it stay committed, the report says at which line it stopped, and running the same file again
finishes it (a row that is already as the file says changes nothing).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Required, TypedDict, Unpack

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage import models
from digest.core.domain import Problem
from digest.core.fields import clean_name, unfit_for_one_line
from digest.core.ingest.csvfile import CountingLines, unreadable_row
from digest.core.regions import RegionIndex, RegionWarning, split_labels
from digest.core.statuses import SubscriptionStatus
from digest.services.lists import list_by_id
from digest.services.picks import store_picks
from digest.services.subscriber_import_chunk import ChunkDone, ChunkRow, write_chunk
from digest.services.subscribers import InvalidSubscriber, checked_status, normalise_email, resolve_picks

# Rows per transaction: large enough that a statement carries many rows, small enough that a failure loses
# little work and progress moves often.
CHUNK_ROWS = 5000


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    skipped: int = 0  # rows refused; an error in `problems` names each one's line and field
    problems: list[Problem] = field(default_factory=list)
    rows_done: int = 0  # rows read, through the last chunk committed
    stopped_at: int | None = None  # a chunk failed: the line of its first row, where a re-run has work left


class ImportOptions(TypedDict, total=False):
    source: Required[str]  # the file's name, for the problems' "where"
    default_status: str  # for rows without a status column; confirmed unless said
    # After each chunk, inside its transaction: progress written there commits with the rows it counts.
    progress: Callable[[Session, ImportReport], object] | None
    chunk_rows: int


def import_csv(
    sessions: sessionmaker[Session],
    list_id: int,
    regions: RegionIndex,
    text: str,
    **options: Unpack[ImportOptions],
) -> ImportReport:
    """Import rows `email,name,regions,topics[,status]` into the list `list_id`, a transaction per chunk.

    A row without a status gets `default_status`: confirmed, as whoever imports attests consent;
    but someone who left the list stays out unless their row says `confirmed` itself: an old
    spreadsheet must not sign people up again. An address on several lines: each line applies in
    turn, as if imported one after the other, so the last line's picks and status win.
    """
    report = ImportReport()
    with sessions.begin() as session:
        ml = list_by_id(session, list_id)
        ml.topics  # noqa: B018 - loaded now: the reader resolves topics after this session ends
        language = ml.language
    source, progress = options["source"], options.get("progress")
    default = checked_status(options.get("default_status", SubscriptionStatus.CONFIRMED))
    reader = _RowReader(ml, regions, source)
    for chunk in reader.chunks(text, options.get("chunk_rows", CHUNK_ROWS)):
        try:
            with sessions.begin() as session:
                done = write_chunk(session, list_id, chunk.rows, default, language)
                store_picks(session, done.subscription_ids)
                if progress:
                    progress(session, _counted(replace(report, problems=list(report.problems)), chunk, done, source))
        except SQLAlchemyError as exc:
            # From its first line on, nothing of this chunk is imported: a re-run reports its rows.
            report.stopped_at = chunk.first_line
            report.problems.append(_stopped(source, chunk.first_line, exc))
            break
        _counted(report, chunk, done, source)
    report.problems.sort(key=lambda p: p.line or 0)
    return report


def _counted(report: ImportReport, chunk: _Chunk, done: ChunkDone, source: str) -> ImportReport:
    """`report` with `chunk` counted in, as `done` wrote it."""
    report.added, report.updated = report.added + done.added, report.updated + done.updated
    report.skipped += chunk.skipped
    report.rows_done += chunk.read
    report.problems.extend(chunk.problems)
    report.problems.extend(done.problems(source))
    return report


def _stopped(source: str, line: int | None, exc: SQLAlchemyError) -> Problem:
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return Problem(
        f"the import stopped at this line ({cause}): the rows before it are imported; "
        "import the same file again to finish",
        source=source,
        line=line,
        code="subs_import_stopped",
        params={"error": cause},
    )


Cells = dict[str | None, str | list[str] | None]
Picked = tuple[list[str], list[str], list[RegionWarning]]  # region codes, topic slugs, warnings


@dataclass
class _Chunk:
    rows: list[ChunkRow]  # the good ones
    read: int  # rows read, good or refused
    problems: list[Problem]  # of these rows, by line and field
    skipped: int  # rows refused

    @property
    def first_line(self) -> int | None:
        lines = [r.line for r in self.rows] + [p.line for p in self.problems if p.line is not None]
        return min(lines, default=None)


@dataclass
class _RowReader:
    """The file's rows, checked, in chunks; each refused row goes into its chunk's problems by line and field."""

    ml: models.MailingList
    regions: RegionIndex
    source: str
    # The same few labels recur on thousands of rows: each distinct pair is resolved once.
    _picks: dict[tuple[str, str], Picked | InvalidSubscriber] = field(default_factory=dict)
    _problems: list[Problem] = field(default_factory=list)
    _skipped: int = 0

    def chunks(self, text: str, size: int) -> Iterator[_Chunk]:
        """Each next `size` rows read, checked."""
        rows: list[ChunkRow] = []
        read = 0
        for row in self._rows(text):
            read += 1
            if row is not None:
                rows.append(row)
            if read == size:
                yield self._chunk(rows, read)
                rows, read = [], 0
        if read or self._problems:
            yield self._chunk(rows, read)

    def _chunk(self, rows: list[ChunkRow], read: int) -> _Chunk:
        chunk = _Chunk(rows, read, self._problems, self._skipped)
        self._problems, self._skipped = [], 0
        return chunk

    def _rows(self, text: str) -> Iterator[ChunkRow | None]:
        """Each record of the file: checked, or None when refused (its problem reported)."""
        lines = CountingLines(text.lstrip("\ufeff"))
        reader = csv.DictReader(lines)
        header = [h.strip().lower() for h in (reader.fieldnames or [])]
        if "email" not in header:
            self._problems.append(
                Problem(
                    "the header row has no 'email' column",
                    source=self.source,
                    line=1,
                    field="email",
                    code="subs_no_email_column",
                )
            )
            return
        reader.fieldnames = header
        while True:
            lines.first_nonblank = None
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # this row only: the reader goes on with the next line
                self._refuse(unreadable_row(exc, self.source, lines.consumed))
                yield None
                continue
            yield self._checked(cells, lines.first_nonblank or lines.consumed)  # where the row starts

    def _refuse(self, problem: Problem) -> None:
        self._problems.append(replace(problem, source=self.source))
        self._skipped += 1

    def _checked(self, row: Cells, line: int) -> ChunkRow | None:
        if None in row:
            self._refuse(Problem("more cells than header columns", line=line, code="subs_extra_cells"))
            return None
        cells = {k: str(v or "").strip() for k, v in row.items() if k is not None}
        if not cells.get("email"):
            self._refuse(Problem("missing email", line=line, field="email", code="subs_missing_email"))
            return None
        for name in ("email", "name"):
            if char := unfit_for_one_line(cells.get(name, "")):
                message = f"{name} holds {char}: no control character or line break"
                params = {"field": name, "char": char}
                self._refuse(Problem(message, line=line, field=name, code="field_control", params=params))
                return None
        try:
            email = normalise_email(cells["email"])
            status = checked_status(cells["status"]) if cells.get("status") else None
            picks = self._resolved(cells.get("regions", ""), cells.get("topics", ""))
            if isinstance(picks, InvalidSubscriber):
                raise picks.with_traceback(None)
        except InvalidSubscriber as exc:
            self._refuse(Problem(str(exc), line=line, field=exc.field, code=exc.code, params=exc.params))
            return None
        codes, slugs, warnings = picks
        for warning in warnings:
            self._problems.append(
                Problem(
                    warning,
                    source=self.source,
                    line=line,
                    field="regions",
                    severity="warning",
                    code=warning.code,
                    params=warning.params,
                )
            )
        return ChunkRow(line, email, clean_name(cells.get("name", "")), status, (codes, slugs))

    def _resolved(self, regions: str, topics: str) -> Picked | InvalidSubscriber:
        key = (regions, topics)
        if key not in self._picks:
            try:
                self._picks[key] = resolve_picks(self.ml, self.regions, split_labels(regions), split_labels(topics))
            except InvalidSubscriber as exc:
                self._picks[key] = exc
        return self._picks[key]
