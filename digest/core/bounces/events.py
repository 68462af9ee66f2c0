"""What a bounce mail, a complaint, an unsubscribe mail or a provider's webhook event says, as plain data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class EventKind(StrEnum):
    HARD_BOUNCE = "hard_bounce"  # permanent: 5.x.x, "user unknown", a provider's Permanent/bounce
    SOFT_BOUNCE = "soft_bounce"  # temporary: 4.x.x, mailbox full, a provider's Transient/deferred-then-dropped
    COMPLAINT = "complaint"  # the recipient marked it as spam (ARF, RFC 5965; a provider's complaint/spamreport)
    UNSUBSCRIBE = "unsubscribe"  # a mail to the List-Unsubscribe mailto address with a valid token
    AUTO_REPLY = "auto_reply"  # out of office, vacation, "I changed my address": recorded, nothing done


@dataclass(frozen=True, slots=True)
class MailEvent:
    """One thing that came back about one address.

    `key` makes it idempotent: the same bounce mail read twice, or the same webhook delivered three times,
    has the same key and is applied once. `delivery_id` comes from the VERP token when the mail carried one
    (so which issue bounced is known without guessing); `subscriber_id` and `list_slug` from an unsubscribe
    token. `source` names where it came from ("mailbox", "ses", "mailgun", "postmark", "sendgrid");
    `raw_ref` where its raw form can be found again (a mailbox folder and Message-ID, a provider's event id).
    """

    kind: EventKind
    key: str
    source: str
    email: str | None = None
    status: str = ""  # the enhanced status code (RFC 3463) when one was given: "5.1.1"
    detail: str = ""  # the diagnostic or feedback type, one line, short
    raw_ref: str = ""
    delivery_id: int | None = None
    subscriber_id: int | None = None
    list_slug: str | None = None
    # The original's Message-ID when the report carries it (a provider's webhook, a DSN's returned headers):
    # finds the delivery when no VERP token does.
    message_id: str = ""
    at: datetime | None = None  # when the provider or the reporting MTA says it happened


def is_permanent(status: str) -> bool | None:
    """True for a 5.x.x status, False for 4.x.x, None when there is none to go by (RFC 3463 class digit)."""
    status = status.strip()
    if status[:2] in ("5.", "4.") or (status[:1] in ("5", "4") and len(status) == 3 and status.isdigit()):
        return status[0] == "5"
    return None
