"""What one process builds once and every use case shares: settings, the session factory, the region index,
the mail templates, the clock and, when there is one, the broker. The CLI, the web app and the worker each
make one `Runtime` at start-up and hand it to services, which take it plus ids and keyword-only options.

Caches that live as long as the process (compiled templates, the region index, rendered contents) hang off
the runtime, not off module globals, so a test or a second app in one process starts clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage.db import session_factory
from digest.core.clock import Clock
from digest.core.regions import RegionIndex, load_regions
from digest.core.rendering import make_environment
from digest.core.settings import Settings, load_settings

if TYPE_CHECKING:
    import jinja2


class Broker(Protocol):
    """Hands a batch of an issue's delivery rows to a worker (the Celery adapter implements it)."""

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None: ...


@dataclass(eq=False)
class Runtime:
    settings: Settings
    # None: no broker configured, so an issue is sent in this process.
    broker: Broker | None = None
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = session_factory(self.settings.database_url)

    @classmethod
    def from_environment(cls, *, require_secret: bool = False, broker: Broker | None = None) -> Runtime:
        return cls(load_settings(require_secret=require_secret), broker=broker)

    @property
    def clock(self) -> Clock:
        return self.settings.clock

    @cached_property
    def regions(self) -> RegionIndex:
        return load_regions()

    @cached_property
    def templates(self) -> jinja2.Environment:
        """The mail templates (digest.subject.txt, digest.txt, digest.html), compiled once."""
        return make_environment()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session, one transaction: commit on success, roll back on error."""
        with self.sessions.begin() as session:
            yield session
