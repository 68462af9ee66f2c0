"""Why a subscriber gets no message of an issue: written once for sending and for the previews."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from digest.core.statuses import DeliveryStatus, SubscriptionStatus


class Skip(StrEnum):
    """The value is the key the previews show (web catalogues word it)."""

    SUPPRESSED = "suppressed"
    NOT_CONFIRMED = "not_confirmed"
    PAUSED = "paused"
    EMPTY = "empty"

    @property
    def status(self) -> DeliveryStatus:
        """What the ledger records for a row skipped so."""
        return DeliveryStatus.SUPPRESSED if self is Skip.SUPPRESSED else DeliveryStatus.SKIPPED

    def reason(self, paused_until: date | None = None) -> str:
        """The ledger's `reason` for a row skipped so."""
        if self is Skip.PAUSED:
            return f"paused until {paused_until}"
        return _REASONS[self]


_REASONS = {
    Skip.SUPPRESSED: "address is on the suppression list",
    Skip.NOT_CONFIRMED: "no longer subscribed",
    Skip.EMPTY: "no article this week matches their picks",
}


def skip_before_building(
    *, suppressed: bool, subscription: str | None, paused_until: date | None, period_end: date
) -> Skip | None:
    """Why nothing is built for them at all (an empty digest is found only once it is built)."""
    if suppressed:
        return Skip.SUPPRESSED
    if subscription != SubscriptionStatus.CONFIRMED:
        return Skip.NOT_CONFIRMED
    if paused_until is not None and paused_until > period_end:
        return Skip.PAUSED
    return None
