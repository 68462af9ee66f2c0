"""Postmark's bounce and spam complaint webhooks. Postmark signs nothing: a request is ours when the URL carries
the secret (`/webhooks/postmark/<secret>`) and/or its HTTP basic auth is the configured user:password — both are
checked when both are set, each in constant time.

A bounce's Type says what it is: HardBounce and BadEmailAddress are permanent; Transient, SoftBounce, DnsError,
Blocked (the receiver refused the sender for now) and Unknown are scored as soft; AutoResponder and
AddressChange are auto-replies; SpamNotification and the SpamComplaint record are complaints; Unsubscribe (a
mail asking to be removed) an unsubscribe. The other types (virus and challenge notifications, Postmark's own
deactivations and errors, DMARC) are not about the address and are ignored.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from digest.core.bounces.events import EventKind, MailEvent
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.webhooks.common import (
    Verified,
    WebhookRefused,
    address,
    event_key,
    header,
    iso_time,
    json_object,
    one_line,
    quoted_status,
)

SOURCE = "postmark"
_TYPES = {
    "HardBounce": EventKind.HARD_BOUNCE,
    "BadEmailAddress": EventKind.HARD_BOUNCE,
    "Transient": EventKind.SOFT_BOUNCE,
    "SoftBounce": EventKind.SOFT_BOUNCE,
    "DnsError": EventKind.SOFT_BOUNCE,
    "Blocked": EventKind.SOFT_BOUNCE,
    "Unknown": EventKind.SOFT_BOUNCE,
    "AutoResponder": EventKind.AUTO_REPLY,
    "AddressChange": EventKind.AUTO_REPLY,
    "SpamNotification": EventKind.COMPLAINT,
    "SpamComplaint": EventKind.COMPLAINT,
    "Unsubscribe": EventKind.UNSUBSCRIBE,
}


def postmark_configured(loop: LoopSettings) -> bool:
    return bool(loop.postmark_secret or loop.postmark_basic_auth)


def check_postmark_access(headers: Mapping[str, str], url_secret: str | None, loop: LoopSettings) -> None:
    """Refuses a request whose URL secret or basic auth is not the configured one (never saying what is)."""
    if not postmark_configured(loop):
        raise WebhookRefused("Postmark webhooks are not configured", 404, "webhook_not_configured")
    if loop.postmark_secret is not None and not hmac.compare_digest(
        (url_secret or "").encode(), loop.postmark_secret.encode()
    ):
        raise WebhookRefused("the URL's secret does not match", 403, "webhook_secret")
    if loop.postmark_basic_auth is not None and not hmac.compare_digest(
        _basic_credentials(header(headers, "authorization")), loop.postmark_basic_auth.encode()
    ):
        raise WebhookRefused("the basic auth credentials do not match", 401, "webhook_credentials")


def _basic_credentials(value: str | None) -> bytes:
    scheme, _, encoded = (value or "").strip().partition(" ")
    if scheme.lower() != "basic":
        return b""
    try:
        return base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return b""


def read_postmark(
    headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime, url_secret: str | None = None
) -> Verified:
    """The event of one Postmark webhook request, its secret or credentials checked. `now` is unused: Postmark
    dates nothing it signs, so the nonce (record type and ID) is what refuses a replay."""
    check_postmark_access(headers, url_secret, loop)
    record = json_object(body)
    record_type = record.get("RecordType")
    record_id = record.get("ID")
    if not isinstance(record_type, str) or not isinstance(record_id, int | str) or isinstance(record_id, bool):
        raise WebhookRefused("the body has no RecordType and ID", 400, "webhook_malformed")
    nonce = one_line(f"{record_type}:{record_id}", 200)
    if record_type not in ("Bounce", "SpamComplaint"):
        return Verified(nonce=nonce)
    event = _event(record, record_id)
    return Verified(nonce=nonce, events=[event] if event is not None else [])


def _event(record: dict[str, Any], record_id: object) -> MailEvent | None:
    kind = EventKind.COMPLAINT if record.get("RecordType") == "SpamComplaint" else _TYPES.get(str(record.get("Type")))
    email = address(record.get("Email"))
    if kind is None or email is None:
        return None
    details = one_line(record.get("Details") or record.get("Description"))
    return MailEvent(
        kind=kind,
        key=event_key(SOURCE, record_id, email),
        source=SOURCE,
        email=email,
        status=quoted_status(details) or "",
        detail=one_line(f"{record.get('Type')}: {details}" if details else record.get("Type")),
        raw_ref=one_line(f"postmark bounce {record_id}; message {record.get('MessageID', '?')}", 500),
        at=iso_time(record.get("BouncedAt")),
    )
