"""The sender: one batch's rows over one transport, each message leaving at most once per claim.

A row is claimed (queued → sending, its Message-ID fixed) and committed before
its message leaves, and marked `sent` right after the transport accepts it. A
crash between the two leaves the row `sending`; the sweeper returns it once its
lease runs out (the batch renews it every heartbeat while it lives: seconds, see
the Ledger) and it goes again with the same Message-ID: only messages in flight can
be doubled. A batch claims only rows it took (`Ledger.take`) and releases only rows
it holds, so a second batch over the same ids never has its rows moved under it.

To hide the commit's round trip, the SMTP envelope (MAIL, RCPT, DATA) goes out
and the next message is built while the claim's commit travels (sent at once,
its result read later); the content waits for the claim, and a refused claim
abandons the envelope (SMTP then discards the transaction).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from digest.adapters.transports import DeliveryError, Envelope, PermanentDeliveryError, Transport
from digest.core.links import envelope_sender
from digest.core.statuses import DeliveryStatus
from digest.services.delivery.building import Built, build_row
from digest.services.delivery.digests import IssueDigests
from digest.services.delivery.rows import QueuedRow
from digest.services.ledger import Claim, Ledger

if TYPE_CHECKING:
    from digest.services.runtime import Runtime

MAX_ATTEMPTS = 5
# After a temporary failure: 1, 2, 4, 8 … minutes, and never later than this after the slot.
FIRST_BACKOFF = timedelta(minutes=1)
GIVE_UP_AFTER = timedelta(hours=24)
DEFERRED = "deferred"  # a report's word for a row put back to pending after a temporary failure


@dataclass
class SendReport:
    issue_id: int | None = None
    counts: dict[str, int] = field(default_factory=dict)
    renders: int = 0  # distinct contents rendered (premailer runs)
    # Why the run stopped early, blaming no subscriber: the installation or configuration
    # (templates, list settings, the server or its account). The rows it held are pending again.
    halted: str | None = None

    def add(self, status: str) -> None:
        status = str(status)  # plain strings: reports travel as JSON
        self.counts[status] = self.counts.get(status, 0) + 1

    def merge(self, other: SendReport) -> None:
        for status, n in other.counts.items():
            self.counts[status] = self.counts.get(status, 0) + n
        self.renders += other.renders
        self.halted = self.halted or other.halted


def _nothing() -> None:
    return None


def _ignore(_: int) -> None:
    return None


@dataclass(frozen=True)
class Pace:
    """How a batch keeps time: `ready` before it claims a row (waits for the list's next turn, taking none),
    `throttle` before each message's content (takes the turn), `progress` after each row.

    The long wait comes before the claim: a claimed row is `sending`, and one held past the lease (a slow rate)
    would go back to the queue while its message is still to go. The turn is taken just before the content, so
    the pace the server sees is the list's rate, not the rate of claims, whose commits take more or less time.
    """

    throttle: Callable[[], None] = _nothing
    ready: Callable[[], None] = _nothing
    progress: Callable[[int], None] = _ignore


AT_ONCE = Pace()  # no rate limit, nobody watching


class Sender:
    """Sends rows of one issue over one open transport, writing each outcome with the next claim."""

    def __init__(self, runtime: Runtime, issue: IssueDigests, transport: Transport, pace: Pace = AT_ONCE) -> None:
        self.runtime, self.issue, self.transport, self.pace = runtime, issue, transport, pace
        # Open the envelope while the claim commits; off once a claim is refused, so the rest
        # of the batch claims before it opens anything.
        self.overlap = True

    def send(self, rows: list[QueuedRow]) -> SendReport:
        report = SendReport(issue_id=self.issue.issue_id)
        # Built one row ahead, so the next message takes shape while this one's claim commits.
        upcoming = (build_row(self.runtime, self.issue, row) for row in rows)
        heartbeat = self.runtime.settings.heartbeat
        with Ledger(self.runtime.engine, clock=self.runtime.clock, heartbeat=heartbeat) as ledger:
            ledger.take([row.id for row in rows])
            built = next(upcoming, None)
            for position, row in enumerate(rows):
                assert built is not None  # one per row
                halted = None
                if built.outcome is not None and built.outcome.stops:
                    # Not this subscriber's fault: nobody's row may fail for it.
                    halted = built.outcome.error
                elif built.outcome is not None:
                    outcome = built.outcome
                    ledger.record(
                        row.id,
                        DeliveryStatus.QUEUED,
                        status=outcome.status,
                        reason=outcome.reason,
                        last_error=outcome.error,
                    )
                    report.add(str(outcome.status))
                    built = next(upcoming, None)
                else:
                    self.pace.ready()
                    envelope, following = self._claim(ledger, row, built, upcoming)
                    if envelope is not None:
                        self.pace.throttle()
                        halted = self._deliver(ledger, row, envelope, built.data, report)
                    built = following
                    if envelope is None:
                        continue  # someone else holds the row, or the issue stopped
                if halted is not None:
                    # This row and the rest go back to pending, untried, for a run after the fix.
                    ledger.release([r.id for r in rows[position:]])
                    report.halted = halted
                    break
                self.pace.progress(1)
            ledger.commit()
        report.renders = len(self.issue.contents)
        return report

    def _claim(
        self, ledger: Ledger, row: QueuedRow, built: Built, upcoming: Iterator[Built]
    ) -> tuple[Envelope | None, Built | None]:
        """Claims `row` and opens its envelope, building the next message meanwhile. No envelope: refused."""
        claim = Claim(row.id, self.issue.issue_id, built.message_id, built.article_ids)
        sender = envelope_sender(self.issue.links, row.id, self.issue.info.sender_email)
        envelope = None
        if self.overlap:
            committed = ledger.start_commit(claim)
            try:
                envelope = self.transport.begin(sender=sender, recipient=row.email)
                following = next(upcoming, None)
                claimed = committed.result()
            except BaseException:
                if envelope is not None:
                    envelope.abandon()
                raise
        else:
            claimed = ledger.commit(claim)
            envelope = self.transport.begin(sender=sender, recipient=row.email) if claimed else None
            following = next(upcoming, None)
        if not claimed:
            # Nothing of this message may go.
            if envelope is not None:
                envelope.abandon()
            self.overlap = False
            return None, following
        return envelope, following

    def _deliver(
        self, ledger: Ledger, row: QueuedRow, envelope: Envelope, data: bytes, report: SendReport
    ) -> str | None:
        """The content of a claimed message; returns why the run must stop, if it must."""
        now = self.runtime.clock.now
        try:
            receipt = envelope.deliver(data)
        except DeliveryError as exc:
            if exc.recipient is None:
                return str(exc)  # no address is at fault (login refused, server unreachable): blame no one
            report.add(_record_failure(ledger, row, exc, now()))
        else:
            sent = DeliveryStatus.SENT
            ledger.record(
                row.id, DeliveryStatus.SENDING, status=sent, location=receipt.where, sent_at=now(), reason=None
            )
            report.add(sent)
        return None


def _record_failure(ledger: Ledger, row: QueuedRow, exc: DeliveryError, now: datetime) -> str:
    error = f"{exc.code} {exc.detail}"
    if isinstance(exc, PermanentDeliveryError):
        ledger.record(row.id, DeliveryStatus.SENDING, status=DeliveryStatus.BOUNCED, last_error=error)
        ledger.suppress(row.email, f"bounced: {error}"[:300])
        return DeliveryStatus.BOUNCED
    attempts = row.attempts + 1
    retry_at = now + FIRST_BACKOFF * 2 ** (attempts - 1)
    horizon = (row.due_at or now) + GIVE_UP_AFTER
    if attempts >= MAX_ATTEMPTS or retry_at > horizon:
        ledger.record(row.id, DeliveryStatus.SENDING, status=DeliveryStatus.FAILED, last_error=error)
        return DeliveryStatus.FAILED
    ledger.record(
        row.id, DeliveryStatus.SENDING, status=DeliveryStatus.PENDING, last_error=error, next_attempt_at=retry_at
    )
    return DEFERRED
