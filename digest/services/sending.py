"""Sending a batch of ledger rows: each message leaves at most once per claim, none is skipped.

A row is claimed (queued → sending, its Message-ID fixed) and committed before
its message leaves, and marked `sent` right after the transport accepts it. A
crash between the two leaves the row `sending`; the sweeper returns it after the
lease and it goes again with the same Message-ID: only messages in flight can
be doubled. To hide the commit's round trip, the SMTP envelope (MAIL, RCPT,
DATA) goes out and the next message is built while the claim's commit travels
(sent at once, its result read later); the content waits for the claim, and a
refused claim abandons the envelope (SMTP then discards the transaction). The in-process path
(`digest send` without a broker) and the Celery tasks run this same code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.utils import make_msgid
from functools import lru_cache
from typing import cast

import jinja2
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.storage import models
from digest.adapters.storage.db import among
from digest.adapters.transports import DeliveryError, Envelope, PermanentDeliveryError, Transport
from digest.core.domain import Article, Digest, ListInfo, Picks
from digest.core.faults import RecipientError, SetupError
from digest.core.links import make_recipient
from digest.core.messages import message_wire
from digest.core.prepared import PreparedContent
from digest.core.regions import RegionIndex
from digest.core.rendering import render_content
from digest.core.selection import assemble_digest
from digest.core.settings import Settings
from digest.services.articles import articles_of_period
from digest.services.issues import claim_due, finish_if_done, sweep_stale, unclaim
from digest.services.ledger import Claim, Ledger
from digest.services.lists import list_info

MAX_ATTEMPTS = 5
# After a temporary failure: 1, 2, 4, 8 … minutes, and never later than this after the slot.
FIRST_BACKOFF = timedelta(minutes=1)
GIVE_UP_AFTER = timedelta(hours=24)


@dataclass
class SendReport:
    issue_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    renders: int = 0  # distinct contents rendered (premailer runs)
    # Why the run stopped early, blaming no subscriber: the installation or configuration
    # (templates, list settings, the server or its account). The rows it held are pending again.
    halted: str | None = None

    def add(self, status: str) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1

    def merge(self, other: SendReport) -> None:
        for status, n in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + n
        self.renders += other.renders
        self.halted = self.halted or other.halted


@dataclass
class IssueContext:
    """What every delivery of one issue shares, loaded once per batch or run."""

    issue_id: int
    list_id: int
    issue_number: int
    period_start: date
    period_end: date
    info: ListInfo
    articles: list[Article]
    unsubscribe_mailbox: str
    digests: dict[Picks, Digest] = field(default_factory=dict)
    rendered: dict[tuple[int, ...], PreparedContent] = field(default_factory=dict)

    def digest_for(self, picks: Picks, regions: RegionIndex) -> Digest:
        digest = self.digests.get(picks)
        if digest is None:
            digest = self.digests[picks] = assemble_digest(
                self.info,
                self.articles,
                picks,
                regions,
                period_start=self.period_start,
                period_end=self.period_end,
                issue_number=self.issue_number,
            )
        return digest

    def content_for(self, digest: Digest, env: jinja2.Environment) -> PreparedContent:
        content = self.rendered.get(digest.article_ids)
        if content is None:
            content = self.rendered[digest.article_ids] = _render_shared(digest, env)
        return content


@lru_cache(maxsize=256)
def _render_shared(digest: Digest, env: jinja2.Environment) -> PreparedContent:
    # A worker meets the same few hundred contents in every batch of an issue. The key
    # is the whole digest (articles, branding, dates), so an edited article is a new
    # key, never a stale render; the bound keeps a worker's memory flat.
    return PreparedContent.of(render_content(digest, env))


def load_context(session: Session, issue_id: int) -> IssueContext:
    # (The casts: a batch or run names an issue that exists, and an issue's list exists.)
    issue = cast(models.Issue, session.get(models.Issue, issue_id))
    ml = cast(models.MailingList, session.get(models.MailingList, issue.list_id))
    return IssueContext(
        issue_id=issue.id,
        list_id=ml.id,
        issue_number=issue.number,
        period_start=issue.period_start,
        period_end=issue.period_end,
        info=list_info(ml),
        articles=articles_of_period(session, ml, issue.period_end),
        unsubscribe_mailbox=ml.reply_to or ml.sender_email,
    )


@dataclass
class _Row:
    """One queued delivery with everything needed to send it, read in one query per batch."""

    id: int
    attempts: int
    due_at: datetime | None
    message_id: str | None
    subscriber_id: int
    email: str
    name: str
    subscription_status: str | None
    paused_until: date | None
    picks: Picks
    suppressed: bool


def _load_rows(session: Session, delivery_ids: list[int], list_id: int) -> list[_Row]:
    d, s, sub = models.Delivery, models.Subscriber, models.Subscription
    # Each table read by its own key, in two queries. Joined in one, the planner
    # preferred hashing the whole subscribers table to 500 index probes: every batch
    # read every subscriber, and a send grew with the square of the list. By id alone
    # for the rows: with the status in the query it could read every queued row of the
    # issue through the status index. The status is checked here instead.
    deliveries = [
        r
        for r in session.execute(
            select(d.id, d.attempts, d.due_at, d.message_id, d.subscriber_id, d.status)
            .where(among(session, d.id, delivery_ids))
            .order_by(d.id)
        )
        if r.status == "queued"
    ]
    subscriber_ids = [r.subscriber_id for r in deliveries]
    suppressed = select(models.Suppression.id).where(models.Suppression.email == s.email).exists()
    people = {
        r[0]: r
        for r in session.execute(
            select(s.id, s.email, s.name, sub.status, sub.paused_until, sub.region_codes, sub.topic_slugs, suppressed)
            .outerjoin(
                sub,
                (sub.subscriber_id == s.id)
                & (sub.list_id == list_id)
                & among(session, sub.subscriber_id, subscriber_ids),
            )
            .where(among(session, s.id, subscriber_ids))
        )
    }
    rows = []
    for r in deliveries:
        p = people.get(r.subscriber_id)
        if p is not None:  # deleted meanwhile (its rows go with it)
            rows.append(
                _Row(
                    r.id,
                    r.attempts,
                    r.due_at,
                    r.message_id,
                    p[0],
                    p[1],
                    p[2],
                    p[3],
                    p[4],
                    Picks(frozenset(p[5] or ()), frozenset(p[6] or ())),
                    bool(p[7]),
                )
            )
    return rows


def send_batch(
    factory: sessionmaker[Session],
    issue_id: int,
    delivery_ids: list[int],
    transport: Transport,
    settings: Settings,
    regions: RegionIndex,
    env: jinja2.Environment,
    *,
    ctx: IssueContext | None = None,
    throttle: Callable[[], None] | None = None,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """Send the queued rows among `delivery_ids`; rows someone else took, or of a paused issue, are left."""
    report = SendReport(issue_id=issue_id)
    with factory.begin() as session:
        if ctx is None:
            ctx = load_context(session, issue_id)
        rows = _load_rows(session, delivery_ids, ctx.list_id)
    # Built one row ahead, so the next message takes shape while this one's claim commits.
    upcoming = (_prepare(row, ctx, settings, regions, env) for row in rows)
    overlap = True  # open the envelope while the claim commits; off once a claim is refused
    clock = settings.clock
    with Ledger(factory.kw["bind"], clock=clock) as ledger:
        prepared = next(upcoming, None)
        for position, row in enumerate(rows):
            # One per row, so not None here; without an outcome there is a message and its Message-ID.
            message, message_id, article_ids, outcome = cast(
                "tuple[bytes, str, tuple[int, ...], _Outcome | None]", prepared
            )
            if outcome is not None and outcome[0] == _STOP:
                # Not this subscriber's fault: nobody's row may fail for it. This row and
                # the rest go back to pending, untried, for a run after the fix.
                ledger.release([r.id for r in rows[position:]])
                report.halted = outcome[2]
                break
            if outcome is not None:
                status, reason, error = outcome
                ledger.record(row.id, "queued", status=status, reason=reason, last_error=error)
                report.add(status)
                if progress:
                    progress(1)
                prepared = next(upcoming, None)
                continue
            if throttle:
                throttle()
            claim = Claim(row.id, ctx.issue_id, message_id, article_ids)
            if overlap:
                committed = ledger.start_commit(claim)
                envelope = None
                try:
                    envelope = transport.begin(sender=ctx.info.sender_email, recipient=row.email)
                    prepared = next(upcoming, None)
                    claimed = committed.result()
                except BaseException:
                    if envelope is not None:
                        envelope.abandon()
                    raise
            else:
                claimed = ledger.commit(claim)
                envelope = transport.begin(sender=ctx.info.sender_email, recipient=row.email) if claimed else None
                prepared = next(upcoming, None)
            if not claimed:
                # Someone else holds the row, or the issue stopped: nothing of this message may go.
                if envelope is not None:
                    envelope.abandon()
                overlap = False
                continue
            try:
                receipt = cast(Envelope, envelope).deliver(message)  # claimed: its envelope is open
            except DeliveryError as exc:
                if exc.recipient is None:
                    # No address is at fault (login refused, server unreachable): stop, blame no one.
                    ledger.release([r.id for r in rows[position:]])
                    report.halted = str(exc)
                    break
                report.add(_record_failure(ledger, row, exc, clock.now()))
            else:
                ledger.record(
                    row.id,
                    "sending",
                    status="sent",
                    location=receipt.where,
                    sent_at=clock.now(),
                    reason=None,
                )
                report.add("sent")
            if progress:
                progress(1)
        ledger.commit()
    report.renders = len(ctx.rendered)
    return report


# What becomes of a row that gets no message: (status, reason, last error).
_Outcome = tuple[str, str | None, str | None]


def _prepare(
    row: _Row, ctx: IssueContext, settings: Settings, regions: RegionIndex, env: jinja2.Environment
) -> tuple[bytes | None, str | None, tuple[int, ...], _Outcome | None]:
    """(message bytes, Message-ID, article ids, None), or (None, None, (), outcome) for a row that gets nothing."""
    outcome = _skip_reason(row, ctx)
    if outcome is not None:
        return None, None, (), outcome
    try:
        data, message_id, article_ids = _build(row, ctx, settings, regions, env)
    except RecipientError as exc:  # this subscriber's own data: their row fails, the others go
        return None, None, (), ("failed", None, f"could not build the message: {exc}")
    except SetupError as exc:
        return None, None, (), (_STOP, None, f"cannot build any message: {exc}")
    except Exception as exc:  # not known to be the subscriber's: stop rather than fail them all
        return None, None, (), (_STOP, None, f"cannot build the message for {row.email}: {exc!r}")
    if data is None:
        return None, None, (), ("skipped", "no article this week matches their picks", None)
    return data, message_id, article_ids, None


_STOP = "stop"  # an outcome that is no row's: the run stops and releases what it holds


def _skip_reason(row: _Row, ctx: IssueContext) -> _Outcome | None:
    if row.suppressed:
        return ("suppressed", "address is on the suppression list", None)
    if row.subscription_status != "confirmed":
        return ("skipped", "no longer subscribed", None)
    if row.paused_until is not None and row.paused_until > ctx.period_end:
        return ("skipped", f"paused until {row.paused_until}", None)
    return None


def _build(
    row: _Row, ctx: IssueContext, settings: Settings, regions: RegionIndex, env: jinja2.Environment
) -> tuple[bytes | None, str | None, tuple[int, ...]]:
    """The message's bytes, its Message-ID and its articles; (None, None, ()) when nothing matches."""
    digest = ctx.digest_for(row.picks, regions)
    if digest.article_count == 0:
        return None, None, ()
    content = ctx.content_for(digest, env)
    recipient = make_recipient(
        email=row.email,
        name=row.name,
        subscriber_id=row.subscriber_id,
        list_slug=ctx.info.slug,
        issue_id=ctx.issue_id,
        base_url=settings.base_url,
        secret=settings.secret_key,
        unsubscribe_mailbox=ctx.unsubscribe_mailbox,
    )
    # A resend after a crash keeps the first Message-ID, so mail clients can fold the two.
    message_id = row.message_id or make_msgid(domain=settings.link_domain)
    subject, text, html = content.fill(recipient)
    data = message_wire(
        subject,
        text,
        html,
        list_info=ctx.info,
        recipient=recipient,
        list_id_domain=settings.link_domain,
        message_id=message_id,
        date=settings.clock.now().replace(microsecond=0),
    )
    # Handed back as built: reading it from the message would parse the header again.
    return data, message_id, digest.article_ids


def send_pending(
    factory: sessionmaker[Session],
    issue_id: int,
    transport: Transport,
    settings: Settings,
    regions: RegionIndex,
    env: jinja2.Environment,
    *,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
) -> SendReport:
    """In-process: send every due row of the issue once; returns what became of them in this run.

    A row deferred by a temporary failure waits for the next run, which tries it
    whatever its backoff says: a person running `digest send` means now.
    """
    report = SendReport(issue_id=issue_id)
    clock = settings.clock
    with factory.begin() as session:
        sweep_stale(session, now=clock.now())
        ctx = load_context(session, issue_id)
    tried: set[int] = set()
    while not report.halted:
        with factory.begin() as session:
            claims = claim_due(session, limit=batch_size, now=clock.now(), issue_id=issue_id, respect_backoff=False)
            batch = claims.get(issue_id, [])
            fresh = [d for d in batch if d not in tried]
            if len(fresh) < len(batch):
                # Deferred earlier in this run: leave them for the next run.
                session.execute(
                    update(models.Delivery)
                    .where(models.Delivery.id.in_(set(batch) - set(fresh)))
                    .values(status="pending")
                )
        if not fresh:
            break
        tried.update(fresh)
        with released_on_error(factory, fresh):
            report.merge(
                send_batch(factory, issue_id, fresh, transport, settings, regions, env, ctx=ctx, progress=progress)
            )
    with factory.begin() as session:
        finish_if_done(session, issue_id, now=clock.now())
    report.renders = len(ctx.rendered)
    return report


@contextmanager
def released_on_error(factory: sessionmaker[Session], delivery_ids: list[int]) -> Iterator[None]:
    """Rows of a batch that an unexpected error (or Ctrl-C) stopped go back to pending now, not after the lease.

    Only rows still `queued`: none of their messages can have left. A row caught
    `sending` may have reached the server, so it waits for the sweeper as after a crash.
    """
    try:
        yield
    except BaseException:
        with suppress(Exception), factory.begin() as session:
            unclaim(session, delivery_ids)
        raise


def _record_failure(ledger: Ledger, row: _Row, exc: DeliveryError, now: datetime) -> str:
    error = f"{exc.code} {exc.detail}"
    if isinstance(exc, PermanentDeliveryError):
        ledger.record(row.id, "sending", status="bounced", last_error=error)
        ledger.suppress(row.email, f"bounced: {error}"[:300])
        return "bounced"
    attempts = row.attempts + 1
    retry_at = now + FIRST_BACKOFF * 2 ** (attempts - 1)
    horizon = (row.due_at or now) + GIVE_UP_AFTER
    if attempts >= MAX_ATTEMPTS or retry_at > horizon:
        ledger.record(row.id, "sending", status="failed", last_error=error)
        return "failed"
    ledger.record(row.id, "sending", status="pending", last_error=error, next_attempt_at=retry_at)
    return "deferred"
