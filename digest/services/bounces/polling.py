"""`poll_mailbox`: read the bounce mailbox once — every mail read, what it says stored and acted on, the mail
moved to the processed folder; what nobody could read kept for a person (in the mailbox and in the console).

The mailbox is read in chunks; each chunk is one transaction, and its mail is moved only after that commits.
A crash between the two leaves mail that the next poll reads again: its events have the same keys, so nothing
is applied twice. Mail not understood stays in the inbox; the next poll finds it stored already.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from digest.adapters.mailboxes import InboundItem, Mailbox, MailboxError, open_mailbox
from digest.adapters.storage import models
from digest.core.bounces.reading import Reading, read_mail
from digest.services.bounces.applying import apply_events
from digest.services.bounces.recording import record_events
from digest.services.bounces.sources import note_source

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

CHUNK = 200
# The advisory lock one poll holds on PostgreSQL (any number the rest of the code does not use: "bounces").
POLL_LOCK = 0x626F756E636573
SOURCE = "mailbox"
SEEN_ON_POP3 = "pop3"  # models.WebhookNonce's provider for the POP3 mail already read (POP3 cannot move it)


class NoMailbox(Exception):
    """DIGEST_BOUNCE_MAILBOX is not set."""


@dataclass
class MailboxReport:
    mails: int = 0  # read this poll
    seen_before: int = 0  # skipped: read by an earlier poll (POP3, which cannot move mail away)
    unparsed: int = 0
    moved: int = 0
    decisions: Counter[str] = field(default_factory=Counter)  # "hard_bounce suppressed": 2, …
    busy: bool = False  # another poll was reading the mailbox: this one read nothing

    @property
    def events(self) -> int:
        return sum(self.decisions.values())


def poll_mailbox(runtime: Runtime, *, limit: int | None = None) -> MailboxReport:
    """Reads the bounce mailbox once (at most `limit` mails); MailboxError when it cannot be read.

    One poll at a time: a second (the beat's while `digest bounces poll` runs, a second beat) finds the mailbox
    taken and reads nothing (`busy`); it would only race the first to move the same mail.
    """
    loop = runtime.settings.loop
    if not loop.mailbox_url:
        raise NoMailbox("no bounce mailbox: set DIGEST_BOUNCE_MAILBOX (imaps://user:password@host/INBOX, …)")
    with _only_poll(runtime) as alone:
        if not alone:
            return MailboxReport(busy=True)
        return _poll(runtime, loop.mailbox_url, limit)


@contextmanager
def _only_poll(runtime: Runtime) -> Iterator[bool]:
    """On PostgreSQL, a session advisory lock held on a connection of its own for the whole poll; elsewhere (the
    embedded SQLite of one process) nothing to take."""
    if runtime.engine.dialect.name != "postgresql":
        yield True
        return
    with runtime.engine.connect() as conn:
        alone = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": POLL_LOCK}))
        conn.commit()
        try:
            yield alone
        finally:
            if alone:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": POLL_LOCK})
                conn.commit()


def _poll(runtime: Runtime, mailbox_url: str, limit: int | None) -> MailboxReport:
    loop = runtime.settings.loop
    report = MailboxReport()
    try:
        with open_mailbox(
            mailbox_url, processed_folder=loop.processed_folder, delete_processed=loop.delete_processed
        ) as mailbox:
            for chunk in _chunks(mailbox.items(limit), CHUNK):
                finished = _take_chunk(runtime, mailbox, chunk, report)
                if finished and not mailbox.keeps_processed:
                    mailbox.finish(finished)
                    report.moved += len(finished)
    except MailboxError as exc:
        with runtime.transaction() as session:
            note_source(session, SOURCE, runtime.clock.now(), error=str(exc), counts=_counts(report))
        raise
    with runtime.transaction() as session:
        note_source(session, SOURCE, runtime.clock.now(), counts=_counts(report))
    return report


def _chunks(items: Iterator[InboundItem], size: int) -> Iterator[list[InboundItem]]:
    while chunk := list(islice(items, size)):
        yield chunk


def _counts(report: MailboxReport) -> dict[str, int]:
    return {"mails": report.mails, "events": report.events, "unparsed": report.unparsed}


def _take_chunk(runtime: Runtime, mailbox: Mailbox, chunk: Sequence[InboundItem], report: MailboxReport) -> list[str]:
    """Reads, stores and applies one chunk in one transaction; returns the refs of the mail understood."""
    secrets = runtime.settings.token_keys
    with runtime.transaction() as session:
        if mailbox.keeps_processed:
            unseen = _unseen(session, mailbox, chunk)
            report.seen_before += len(chunk) - len(unseen)
            chunk = unseen
        readings = [(item, read_mail(item.raw, secrets=secrets, source=SOURCE, ref=item.ref)) for item in chunk]
        report.mails += len(readings)
        now = runtime.clock.now()
        ids = record_events(session, [event for _, reading in readings for event in reading.events], now)
        for decision in apply_events(session, ids, now):
            report.decisions[f"{decision.kind} {decision.decision}"] += 1
        unread = [(item, reading) for item, reading in readings if reading.unparsed_why is not None]
        report.unparsed += _keep_for_a_person(session, mailbox.name, unread, now)
    return [item.ref for item, reading in readings if reading.unparsed_why is None]


def _keep_for_a_person(
    session: Session, mailbox: str, unread: Sequence[tuple[InboundItem, Reading]], now: datetime
) -> int:
    """Stores each mail not understood, once (by its Message-ID, else its bytes' digest); returns how many are new."""
    if not unread:
        return 0
    refs = {_inbound_ref(item, reading): (item, reading) for item, reading in unread}
    m = models.InboundMail
    known = set(session.scalars(select(m.ref).where(m.mailbox == mailbox[:300], m.ref.in_(list(refs)))))
    for ref, (item, reading) in refs.items():
        if ref not in known:
            session.add(
                m(
                    mailbox=mailbox[:300],
                    ref=ref,
                    sender=reading.sender[:320],
                    subject=reading.subject[:300],
                    why=(reading.unparsed_why or "")[:300],
                    raw=item.raw,
                    received_at=now,
                )
            )
    session.flush()
    return len(refs) - len(known)


def _inbound_ref(item: InboundItem, reading: Reading) -> str:
    return (reading.message_id or "sha256:" + hashlib.sha256(item.raw).hexdigest())[:300]


def _unseen(session: Session, mailbox: Mailbox, chunk: Sequence[InboundItem]) -> list[InboundItem]:
    """The chunk less the mail an earlier poll read (POP3 keeps it where it was); the rest marked as read now."""
    place = hashlib.sha256(mailbox.name.encode()).hexdigest()[:16]
    nonces = {f"{place}:{item.ref}"[:200]: item for item in chunk}
    n = models.WebhookNonce
    seen = set(session.scalars(select(n.nonce).where(n.provider == SEEN_ON_POP3, n.nonce.in_(list(nonces)))))
    for nonce, item in nonces.items():
        if nonce not in seen:
            session.add(n(provider=SEEN_ON_POP3, nonce=nonce, body_sha256=hashlib.sha256(item.raw).hexdigest()))
    return [item for nonce, item in nonces.items() if nonce not in seen]
