"""SendGrid's signed event webhook ("Getting Started with the Event Webhook Security Features"): an ECDSA
signature (P-256, SHA-256, base64 DER) over the X-Twilio-Email-Event-Webhook-Timestamp header's value followed
by the raw body, in X-Twilio-Email-Event-Webhook-Signature, checked with the public key the console shows
(base64 DER SubjectPublicKeyInfo). The body is a JSON array of events, each with its sg_event_id.

Events: `bounce` of type "bounce" is a hard bounce (a 4.x.x status makes it soft); of type "blocked" a soft
one — the receiving server refused the sender or the content for now, not the address. `dropped` means SendGrid
did not even try because its own suppression lists hold the address: "Bounced Address" and "Invalid" are hard
bounces, "Spam Reporting Address" a complaint and "Unsubscribed Address" an unsubscribe, so an address another
sender of the account lost is lost here too; other drop reasons (spam content, expiry…) are about the message.
`spamreport` is a complaint; `unsubscribe` (SendGrid's global one) an unsubscribe. The rest is ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from digest.core.bounces.events import EventKind, MailEvent, is_permanent
from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.webhooks.common import (
    Verified,
    WebhookRefused,
    address,
    check_fresh,
    event_key,
    header,
    json_body,
    one_line,
    unix_time,
)

SOURCE = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
_DROPPED = {
    "bounced address": EventKind.HARD_BOUNCE,
    "invalid": EventKind.HARD_BOUNCE,
    "spam reporting address": EventKind.COMPLAINT,
    "unsubscribed address": EventKind.UNSUBSCRIBE,
}


def sendgrid_public_key(encoded: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid's console shows it (base64 DER); ValueError when it is not P-256."""
    try:
        key = serialization.load_der_public_key(base64.b64decode(encoded.strip(), validate=True))
    except (binascii.Error, ValueError, UnsupportedAlgorithm):
        raise ValueError("not a base64 DER public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("not an ECDSA P-256 public key")
    return key


def read_sendgrid(headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime) -> Verified:
    """The events of one SendGrid event webhook request, its signature and timestamp checked."""
    if not loop.sendgrid_public_key:
        raise WebhookRefused("SendGrid webhooks are not configured", 404, "webhook_not_configured")
    signature, timestamp = header(headers, SIGNATURE_HEADER), header(headers, TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookRefused("the signature or timestamp header is missing", 401, "webhook_signature")
    try:
        key = sendgrid_public_key(loop.sendgrid_public_key)
    except ValueError:
        raise WebhookRefused("the configured SendGrid key cannot be used", 401, "webhook_signature") from None
    try:
        key.verify(
            base64.b64decode(signature.strip(), validate=True), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
        )
    except (binascii.Error, ValueError, InvalidSignature):
        raise WebhookRefused("the SendGrid signature does not match", 401, "webhook_signature") from None
    check_fresh(unix_time(timestamp, "the timestamp header"), now)
    events = json_body(body)
    if not isinstance(events, list):
        raise WebhookRefused("the body is not a JSON array of events", 400, "webhook_malformed")
    return Verified(nonce=signature.strip(), events=[e for item in events if (e := _event(item)) is not None])


def _kind(item: dict[str, Any]) -> EventKind | None:
    event = item.get("event")
    if event == "bounce":
        if item.get("type") == "blocked" or is_permanent(str(item.get("status") or "")) is False:
            return EventKind.SOFT_BOUNCE
        return EventKind.HARD_BOUNCE
    if event == "dropped":
        return _DROPPED.get(str(item.get("reason") or "").strip().lower())
    if event == "spamreport":
        return EventKind.COMPLAINT
    if event == "unsubscribe":
        return EventKind.UNSUBSCRIBE
    return None


def _event(item: object) -> MailEvent | None:
    if not isinstance(item, dict):
        return None
    kind, email = _kind(item), address(item.get("email"))
    if kind is None or email is None:
        return None
    # Old dropped events came without sg_event_id: the event's own content is then its identity.
    event_id = (
        item.get("sg_event_id") or "h" + hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:32]
    )
    label = item.get("type") if item.get("event") == "bounce" else item.get("event")
    reason = one_line(item.get("reason") or item.get("response"))
    try:
        at: datetime | None = unix_time(item.get("timestamp"), "timestamp")
    except WebhookRefused:
        at = None
    return MailEvent(
        kind=kind,
        key=event_key(SOURCE, event_id, email),
        source=SOURCE,
        email=email,
        status=one_line(item.get("status"), 16),
        detail=one_line(f"{label}: {reason}" if reason else label),
        raw_ref=one_line(f"sendgrid event {event_id}; message {item.get('sg_message_id', '?')}", 500),
        message_id=one_line(item.get("smtp-id"), 300),  # the Message-ID header the mail went out with
        at=at,
    )
