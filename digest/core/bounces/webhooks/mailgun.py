"""Mailgun's webhooks ("Securing Webhooks"): the JSON body carries a `signature` object — timestamp, token and
signature, the hex HMAC-SHA256 of timestamp and token concatenated, keyed with the webhook signing key — and
the event in `event-data`.

Events: `failed` with severity permanent is a hard bounce, temporary a soft one; `complained` a complaint;
`unsubscribed` (the recipient used Mailgun's unsubscribe link) an unsubscribe of the address it names, which
the policy applies as it applies a mailto unsubscribe without a list: the recipient asked the sender to stop.
Everything else (delivered, opened, clicked, accepted…) says nothing the loop acts on.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from digest.core.bounces.events import EventKind, MailEvent
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.verp import read_return_path
from digest.core.bounces.webhooks.common import (
    Verified,
    WebhookRefused,
    address,
    check_fresh,
    event_key,
    json_object,
    mapping,
    one_line,
    quoted_status,
    unix_time,
)

SOURCE = "mailgun"


def mailgun_signature(signing_key: str, timestamp: str, token: str) -> str:
    return hmac.new(signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()


def read_mailgun(
    headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime, keys: Sequence[str] = ()
) -> Verified:
    """The events of one Mailgun webhook request, its signature and timestamp checked."""
    if not loop.mailgun_signing_key:
        raise WebhookRefused("Mailgun webhooks are not configured", 404, "webhook_not_configured")
    payload = json_object(body)
    signed = payload.get("signature")
    if not isinstance(signed, dict) or not all(isinstance(signed.get(k), str | int) for k in ("timestamp", "token")):
        raise WebhookRefused("the body has no signature object with timestamp and token", 401, "webhook_signature")
    given = signed.get("signature")
    expected = mailgun_signature(loop.mailgun_signing_key, str(signed["timestamp"]), str(signed["token"]))
    if not isinstance(given, str) or not hmac.compare_digest(expected, given.strip().lower()):
        raise WebhookRefused("the Mailgun signature does not match", 401, "webhook_signature")
    check_fresh(unix_time(signed["timestamp"], "the signature's timestamp"), now)
    data = payload.get("event-data")
    if not isinstance(data, dict):
        raise WebhookRefused("the body has no event-data object", 400, "webhook_malformed")
    return Verified(nonce=expected, events=_events(data, keys))


def _events(data: dict[str, Any], keys: Sequence[str]) -> list[MailEvent]:
    kind = _kind(data)
    email = address(data.get("recipient"))
    if kind is None or email is None:
        return []
    event_id = data.get("id") or data.get("timestamp")
    status, detail = _status_and_detail(data)
    message_headers = mapping(mapping(data.get("message")).get("headers"))
    sender = mapping(data.get("envelope")).get("sender")
    found = read_return_path(keys, sender) if keys and isinstance(sender, str) else None
    return [
        MailEvent(
            kind=kind,
            key=event_key(SOURCE, event_id, email),
            source=SOURCE,
            email=email,
            status=status,
            detail=detail,
            raw_ref=one_line(f"mailgun event {event_id}; message {message_headers.get('message-id', '?')}", 500),
            delivery_id=found.delivery_id if found else None,
            subscriber_id=found.subscriber_id if found else None,
            message_id=one_line(message_headers.get("message-id"), 300),
            at=_when(data),
        )
    ]


def _kind(data: dict[str, Any]) -> EventKind | None:
    event = data.get("event")
    if event == "failed":
        return EventKind.HARD_BOUNCE if data.get("severity") == "permanent" else EventKind.SOFT_BOUNCE
    if event == "complained":
        return EventKind.COMPLAINT
    if event == "unsubscribed":
        return EventKind.UNSUBSCRIBE
    return None


def _status_and_detail(data: dict[str, Any]) -> tuple[str, str]:
    """The enhanced status code when Mailgun gives or quotes one, else the SMTP code; the reason and message."""
    delivery = mapping(data.get("delivery-status"))
    text = one_line(delivery.get("message") or delivery.get("description"))
    quoted = quoted_status(f"{delivery.get('enhanced-code') or ''} {text}")
    code = delivery.get("code")
    status = quoted or (str(code) if isinstance(code, int | str) else "")
    reason = one_line(data.get("reason"), 40)
    detail = f"{reason}: {text}" if reason and text else reason or text or one_line(data.get("event"), 40)
    return status[:16], one_line(detail)


def _when(data: dict[str, Any]) -> datetime | None:
    try:
        return unix_time(data.get("timestamp"), "event-data.timestamp")
    except WebhookRefused:
        return None
