"""Where an issue, a delivery and a subscription stand. StrEnums: the database keeps the bare value, and a
member equals its value, so comparisons with stored rows need no conversion. Words for each member live in the
web's catalogues, keyed by the member."""

from enum import StrEnum


class IssueStatus(StrEnum):
    PLANNED = "planned"
    SENDING = "sending"
    PAUSED = "paused"
    CANCELLED = "cancelled"
    SENT = "sent"


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its time or its turn
    QUEUED = "queued"  # handed to a batch
    SENDING = "sending"  # claimed: its Message-ID is fixed and committed before the message leaves
    SENT = "sent"
    FAILED = "failed"
    BOUNCED = "bounced"
    SKIPPED = "skipped"
    SUPPRESSED = "suppressed"

    @property
    def is_open(self) -> bool:
        """Still on its way: an issue is sent once none of its rows is open."""
        return self in OPEN_DELIVERY


OPEN_DELIVERY = frozenset({DeliveryStatus.PENDING, DeliveryStatus.QUEUED, DeliveryStatus.SENDING})
# An issue done with: its rows change only if it is reopened (a retry of its failures), which changes its status.
FINISHED_ISSUE = frozenset({IssueStatus.SENT, IssueStatus.CANCELLED})


class SubscriptionStatus(StrEnum):
    PENDING = "pending"  # asked, not yet confirmed
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"


class ImportStatus(StrEnum):
    """Where a subscriber import started from the console stands."""

    QUEUED = "queued"  # stored, waiting for a worker
    RUNNING = "running"
    DONE = "done"  # every row read; refused rows are in its problems
    FAILED = "failed"  # stopped part-way: the chunks before `stopped_at` are imported


class Origin(StrEnum):
    """Where an article's region or topic came from."""

    LABEL = "label"  # the file or the API gave it
    SOURCE = "source"  # the feed source's default
    TAGGER = "tagger"  # found in the title and text (digest.core.tagging)
    EDITOR = "editor"  # set or confirmed in the console or the API
