"""Why a subscriber gets no message of an issue: written once for sending and for the previews."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
        """The ledger's `reason` for a row skipped so: a code, never a sentence, so each reader of the
        ledger (console, CLI, API) words it in its own language; a pause carries its date."""
        if self is Skip.PAUSED and paused_until is not None:
            return f"{self.value}:{paused_until.isoformat()}"
        return self.value


# The ledger's reason for the rows a cancelled issue skips (not a Skip: no preview ever shows it).
CANCELLED = "cancelled"


@dataclass(frozen=True)
class SkipReason:
    """A ledger `reason` read back: its code and parameters, and its English words (the CLI's and the API's).
    `code` is None for a text no code stands for: it is shown as it was stored."""

    code: str | None
    params: Mapping[str, str]
    text: str


_ENGLISH = {
    Skip.SUPPRESSED.value: "address is on the suppression list",
    Skip.NOT_CONFIRMED.value: "no longer subscribed",
    Skip.PAUSED.value: "paused until {until}",
    Skip.EMPTY.value: "no article this week matches their picks",
    CANCELLED: "issue cancelled",
}
# Rows written before the ledger stored codes hold these sentences: they are read as the codes.
_SENTENCES = {text: code for code, text in _ENGLISH.items() if "{" not in text}
_OLD_PAUSE = re.compile(r"paused until (\d{4}-\d{2}-\d{2}|None)")


def read_reason(stored: str | None) -> SkipReason | None:
    """What a ledger row's `reason` says, whether stored as a code or, by an older version, as a sentence."""
    if not stored:
        return None
    code, _, until = stored.partition(":")
    if code in _ENGLISH and (code == Skip.PAUSED.value or not until):
        params = {"until": until} if until else {}
    elif stored in _SENTENCES:
        code, params = _SENTENCES[stored], {}
    elif old := _OLD_PAUSE.fullmatch(stored):
        code, params = Skip.PAUSED.value, ({} if old[1] == "None" else {"until": old[1]})
    else:
        return SkipReason(None, {}, stored)
    text = _ENGLISH[code].format(until=params.get("until", "further notice"))
    return SkipReason(code, params, text)


def reason_text(stored: str | None) -> str:
    """A ledger `reason` in English, for the CLI."""
    found = read_reason(stored)
    return found.text if found else ""


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
