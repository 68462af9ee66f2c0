"""Each queued row's message, built one row ahead of the one being sent, or why it gets none."""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import make_msgid
from typing import TYPE_CHECKING

from digest.core.faults import RecipientError, SetupError
from digest.core.messages import MessageHeaders, write_message
from digest.core.statuses import DeliveryStatus
from digest.services.delivery.digests import Addressee, IssueDigests, digest_for
from digest.services.delivery.rows import QueuedRow
from digest.services.delivery.skips import Skip, skip_before_building

if TYPE_CHECKING:
    from digest.services.runtime import Runtime


@dataclass(frozen=True, slots=True)
class Outcome:
    """What becomes of a row that gets no message. No status: the run stops, blaming no subscriber."""

    status: DeliveryStatus | None
    reason: str | None = None
    error: str | None = None

    @property
    def stops(self) -> bool:
        return self.status is None


@dataclass(frozen=True, slots=True)
class Built:
    """A row's message, its Message-ID and articles; or, with no message, its outcome."""

    data: bytes = b""
    message_id: str = ""
    article_ids: tuple[int, ...] = ()
    outcome: Outcome | None = None


def _skipped(skip: Skip, row: QueuedRow) -> Built:
    return Built(outcome=Outcome(skip.status, skip.reason(row.paused_until)))


def build_row(runtime: Runtime, issue: IssueDigests, row: QueuedRow) -> Built:
    skip = skip_before_building(
        suppressed=row.suppressed,
        subscription=row.subscription_status,
        paused_until=row.paused_until,
        period_end=issue.period_end,
    )
    if skip is not None:
        return _skipped(skip, row)
    try:
        built = _build(runtime, issue, row)
    except RecipientError as exc:  # this subscriber's own data: their row fails, the others go
        return Built(outcome=Outcome(DeliveryStatus.FAILED, error=f"could not build the message: {exc}"))
    except SetupError as exc:
        return Built(outcome=Outcome(None, error=f"cannot build any message: {exc}"))
    except Exception as exc:  # not known to be the subscriber's: stop rather than fail them all
        return Built(outcome=Outcome(None, error=f"cannot build the message for {row.email}: {exc!r}"))
    return built or _skipped(Skip.EMPTY, row)


def _build(runtime: Runtime, issue: IssueDigests, row: QueuedRow) -> Built | None:
    """The row's message; None when no article matches their picks."""
    to = Addressee(row.email, row.name, row.subscriber_id, language=row.locale, received=row.received)
    copy = digest_for(runtime, issue, row.picks, to)
    if copy.digest.article_count == 0:
        return None
    settings = runtime.settings
    # A resend after a crash keeps the first Message-ID, so mail clients can fold the two.
    message_id = row.message_id or make_msgid(domain=settings.link_domain)
    subject, text, html = issue.content(copy.digest, runtime).fill(copy.recipient)
    headers = MessageHeaders(
        list_info=issue.info,
        recipient=copy.recipient,
        list_id_domain=settings.link_domain,
        message_id=message_id,
        date=settings.clock.now().replace(microsecond=0),
    )
    data = runtime.signed(write_message(headers, subject, text, html))
    # Handed back as built: reading it from the message would parse the header again.
    return Built(data, message_id, copy.digest.article_ids)
