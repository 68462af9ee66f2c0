"""Column types and defaults the models share: aware UTC datetimes, status enums stored as their values."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine.interfaces import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from digest.core.clock import wall_now


def utcnow() -> datetime:
    """Column defaults (created_at, updated_at): when a row was written, by the real time, not the settable
    clock (a model has no settings). No decision reads them against the clock: the sweeper's lease is
    measured from `updated_at` of queued/sending rows, and those are always written with the clock's now."""
    return wall_now()


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_Status = TypeVar("_Status", bound=StrEnum)


class StatusColumn(TypeDecorator[_Status]):
    """A status enum stored as its bare value in VARCHAR(16), the column the migrations made: no schema change,
    no CHECK constraint. Rows load as members; a value outside the enum is refused before it reaches the
    database, in a write as in a comparison."""

    impl = String(16)
    cache_ok = True  # the cache key is `enum_class`, named as __init__'s parameter

    def __init__(self, enum_class: type[_Status]) -> None:
        super().__init__()
        self.enum_class = enum_class

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_class(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> _Status | None:
        return None if value is None else self.enum_class(value)

    def coerce_compared_value(self, op: operators.OperatorType | None, value: Any) -> Any:
        # `status || ''` (services/ledger.py hides the column from the planner that way): the '' is text, not a
        # status, so it is bound as plain text; everything compared with the status itself is checked.
        if op is operators.concat_op:
            return String()
        return self
