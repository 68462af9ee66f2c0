"""What one process builds once and every use case shares: settings, the session factory, the region index,
the mail templates, the clock and, when there is one, the broker. The CLI, the web app and the worker each
make one `Runtime` at start-up and hand it to services, which take it plus ids and keyword-only options.

Caches that live as long as the process (compiled templates, the region index, rendered contents) hang off
the runtime, not off module globals, so a test or a second app in one process starts clean.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage.db import make_engine, session_factory
from digest.adapters.storage.quick import make_autocommit_engine
from digest.adapters.transports import Transport, open_transport
from digest.core.clock import Clock, wall_now
from digest.core.domain import Digest
from digest.core.faults import SetupError
from digest.core.prepared import PreparedContent
from digest.core.regions import RegionIndex, load_regions
from digest.core.rendering import make_environment, render_content
from digest.core.settings import Settings, load_settings
from digest.services.kept import KeptFigures

if TYPE_CHECKING:
    import jinja2

    from digest.core.messages.dkim_signing import DkimKey
    from digest.services.sign_in import LoginGuard


class Broker(Protocol):
    """Hands work to the workers: a batch of an issue's delivery rows, an import (the Celery adapter implements it)."""

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None: ...

    def start_import(self, import_id: int) -> None:
        """Hands a stored subscriber import to a worker."""
        ...

    def send_form_mails(self) -> None:
        """Asks a worker to send the public form's waiting mails."""
        ...

    def apply_mail_events(self, event_ids: list[int]) -> None:
        """Asks a worker to act on stored bounce and complaint events (a webhook's)."""
        ...

    def waiting(self) -> int:
        """Tasks waiting in the broker: none means rows queued and never taken lost theirs."""
        ...


@dataclass(eq=False)
class Runtime:
    settings: Settings
    # None: no broker configured, so an issue is sent in this process.
    broker: Broker | None = None
    # The process's connection pool; the ledger writes over a connection of its own from it.
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    # On PostgreSQL, a pool whose statements each commit on their own: for a request that is one write and
    # needs no transaction, which saves the BEGIN and COMMIT round trips (subscribe, one-click unsubscribe).
    # Its connections are not pinged: storage/quick.py's `first_row` copes with a dropped one.
    autocommit: Engine | None = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.settings.database_url)
        self.sessions = session_factory(self.engine)
        postgresql = self.engine.dialect.name == "postgresql"
        self.autocommit = make_autocommit_engine(self.settings.database_url) if postgresql else None
        # A worker meets the same few hundred contents in every batch of an issue. The key
        # is the whole digest (articles, branding, dates), so an edited article is a new
        # key, never a stale render; the bound keeps a worker's memory flat.
        self.prepared = lru_cache(maxsize=256)(self._prepare)
        # Counts that cost a second at a million rows (the dashboard, an issue's ledger): kept a while.
        self.kept = KeptFigures()

    @classmethod
    def from_environment(cls, *, require_secret: bool = False, broker: Broker | None = None) -> Runtime:
        return cls(load_settings(require_secret=require_secret), broker=broker)

    @classmethod
    def for_settings(cls, settings: Settings) -> Runtime:
        """With the broker the settings name (DIGEST_BROKER_URL), if any: what the CLI and the web app use."""
        from digest.adapters.broker import CeleryBroker

        return cls(settings, broker=CeleryBroker.connect(settings.broker_url) if settings.broker_url else None)

    def writer(self) -> AbstractContextManager[Connection]:
        """A connection for a write PostgreSQL runs as one statement (data-modifying CTEs): outside any
        transaction there, which saves the BEGIN and COMMIT round trips; in one transaction elsewhere, where
        the same write takes several statements."""
        if self.autocommit is not None:
            return self.autocommit.connect()
        return self.engine.begin()

    def open_transport(self) -> Transport:
        """One SMTP connection (or the Maildir outbox); ValueError or OSError when it cannot be opened."""
        return open_transport(self.settings.smtp_url, self.settings.outbox)

    @cached_property
    def dkim_key(self) -> DkimKey | None:
        """The DKIM signing key the settings name, read once per process; None: messages go unsigned.

        SetupError, naming the variable and the file, when it cannot be read or used (and again at the
        next ask, so a key put right is picked up without a restart).
        """
        loop = self.settings.loop
        if loop.dkim_key_file is None or loop.dkim_selector is None or loop.dkim_domain is None:
            return None
        # Imported here: dkimpy and OpenSSL's bindings take a fifth of a second, for sites that sign only.
        from digest.core.messages.dkim_signing import dkim_key

        source = f"DIGEST_DKIM_KEY_FILE ({loop.dkim_key_file})"
        try:
            pem = loop.dkim_key_file.read_bytes()
        except OSError as exc:
            raise SetupError(f"{source}: cannot read the DKIM key: {exc.strerror or exc}") from None
        return dkim_key(loop.dkim_selector, loop.dkim_domain, pem, source=source)

    def signed(self, message: bytes) -> bytes:
        """`message` (DATA form) as it goes out: DKIM-signed when a key is configured, else as it is."""
        key = self.dkim_key
        if key is None:
            return message
        from digest.core.messages.dkim_signing import sign_message

        # The real time, not the clock's: a verifier refuses a t= ahead of its own time (a rehearsal's DIGEST_NOW).
        return sign_message(key, message, signed_at=wall_now())

    def _prepare(self, digest: Digest) -> PreparedContent:
        return PreparedContent.of(render_content(digest, self.templates))

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

    @cached_property
    def login_guard(self) -> LoginGuard:
        """The sign-in throttle and the process's bound on password hashes (one per process, like the pool)."""
        from digest.services.sign_in import Limits, LoginGuard, counter_for

        return LoginGuard(counter_for(self.settings.redis_url, Limits().window))

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One session, one transaction: commit on success, roll back on error."""
        with self.sessions.begin() as session:
            yield session
