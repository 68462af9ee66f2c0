"""Imports started from the console or the API: the upload is stored as a `subscriber_imports` row, a worker imports it
(`digest.import_subscribers`, or this process when there is no broker) and writes its progress to the row
with every chunk it commits, so the console can show how far it is and, once done, the report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from digest.adapters.storage import models
from digest.core.clock import wall_now
from digest.core.domain import Problem
from digest.core.statuses import ImportStatus, SubscriptionStatus
from digest.services import NotFound
from digest.services.runtime import Runtime
from digest.services.subscriber_import import ImportReport, import_csv

# Problems kept on the row; the rest are only counted (a file of 100,000 bad rows must not make a 100 MB row).
PROBLEMS_KEPT = 1000


def queue_import(
    session: Session, ml: models.MailingList, *, started_by: str, file_name: str, text: str, default_status: str
) -> int:
    """Store an upload to import into `ml`; returns its id, for `start_import` once this session commits."""
    job = models.SubscriberImport(
        list_id=ml.id,
        started_by=started_by,
        file_name=file_name,
        csv_text=text,
        default_status=SubscriptionStatus(default_status),
        status=ImportStatus.QUEUED,
        rows_total=_data_lines(text),
        problems=[],
    )
    session.add(job)
    session.flush()
    return job.id


def _data_lines(text: str) -> int:
    """Lines after the header: the rows to expect, until the import has counted them."""
    lines = text.count("\n") + (not text.endswith("\n"))
    return max(lines - 1, 0)


def start_import(runtime: Runtime, import_id: int) -> None:
    """Hand the import to the workers, or, without a broker, run it here and now."""
    if runtime.broker is None:
        run_import(runtime, import_id)
    else:
        runtime.broker.start_import(import_id)


def run_import(runtime: Runtime, import_id: int) -> ImportReport | None:
    """Import the stored upload `import_id`; None if it is gone or already done (a task delivered twice).

    A task delivered again after its worker died runs the file again from the top: the chunks that worker
    committed change nothing the second time.
    """
    with runtime.transaction() as session:
        job = session.get(models.SubscriberImport, import_id)
        if job is None or job.status == ImportStatus.DONE:
            return None
        job.status, job.started_at = ImportStatus.RUNNING, wall_now()
        list_id, text, source, default = job.list_id, job.csv_text, job.file_name, job.default_status

    def progress(session: Session, report: ImportReport) -> None:
        _record(session, import_id, report)

    try:
        report = import_csv(
            runtime.sessions, list_id, runtime.regions, text, source=source, default_status=default, progress=progress
        )
    except Exception:
        with runtime.transaction() as session:
            _finish(session, import_id, ImportStatus.FAILED)
        raise
    with runtime.transaction() as session:
        _record(session, import_id, report)
        _finish(session, import_id, ImportStatus.FAILED if report.stopped_at is not None else ImportStatus.DONE)
    return report


def _record(session: Session, import_id: int, report: ImportReport) -> None:
    session.execute(
        update(models.SubscriberImport)
        .where(models.SubscriberImport.id == import_id)
        .values(
            rows_done=report.rows_done,
            added=report.added,
            updated=report.updated,
            skipped=report.skipped,
            problems=[_stored(p) for p in report.problems[:PROBLEMS_KEPT]],
            problems_more=max(len(report.problems) - PROBLEMS_KEPT, 0),
            stopped_at=report.stopped_at,
        )
    )


def _finish(session: Session, import_id: int, status: ImportStatus) -> None:
    job = session.get(models.SubscriberImport, import_id)
    if job is not None:
        job.status, job.finished_at = status, wall_now()
        if status == ImportStatus.DONE:
            job.rows_total = job.rows_done  # the estimate counted lines; a quoted cell may span several


def _stored(problem: Problem) -> dict[str, object]:
    return {
        "message": problem.message,
        "line": problem.line,
        "field": problem.field,
        "severity": problem.severity,
        "code": problem.code,
        "params": dict(problem.params),
    }


def _loaded(stored: dict[str, Any], source: str) -> Problem:
    return Problem(
        stored["message"],
        source=source,
        line=stored["line"],
        field=stored["field"],
        severity=stored["severity"],
        code=stored["code"],
        params=stored["params"],
    )


@dataclass(frozen=True)
class ImportState:
    """An import as the console and the API show it."""

    id: int
    list_slug: str
    file_name: str
    started_by: str
    status: ImportStatus
    rows_total: int
    rows_done: int
    added: int
    updated: int
    skipped: int
    problems: list[Problem]
    problems_more: int
    stopped_at: int | None
    created_at: datetime
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


def import_state(session: Session, import_id: int) -> ImportState:
    job = session.get(models.SubscriberImport, import_id)
    if job is None:
        raise NotFound(f"no import {import_id}")
    ml = session.get_one(models.MailingList, job.list_id)
    problems = [_loaded(p, job.file_name) for p in job.problems]
    return ImportState(
        job.id,
        ml.slug,
        job.file_name,
        job.started_by,
        job.status,
        job.rows_total,
        job.rows_done,
        job.added,
        job.updated,
        job.skipped,
        problems,
        job.problems_more,
        job.stopped_at,
        job.created_at,
        job.finished_at,
    )
