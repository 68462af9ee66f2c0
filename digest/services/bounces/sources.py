"""Each inbound source's last run (the bounce mailbox, each provider's webhook): the sender page's health."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from digest.adapters.storage import models


def note_source(
    session: Session, name: str, now: datetime, *, error: str | None = None, counts: Mapping[str, int] | None = None
) -> None:
    """Records a run of source `name`: ok unless `error`; `counts` are added to its running totals."""
    row = session.get(models.LoopSource, name, with_for_update=session.get_bind().dialect.name == "postgresql")
    if row is None:
        row = models.LoopSource(name=name, counts={}, runs=0)
        session.add(row)
    row.last_seen_at = now
    row.runs = (row.runs or 0) + 1
    if error is None:
        row.last_ok_at = now
    else:
        row.last_error, row.last_error_at = error[:2000], now
    if counts:
        totals = dict(row.counts or {})
        for key, value in counts.items():
            totals[key] = int(totals.get(key, 0)) + int(value)
        row.counts = totals
    session.flush()
