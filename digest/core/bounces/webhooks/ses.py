"""The SES notification an SNS Notification carries ("Amazon SNS notification contents for Amazon SES"):
`notificationType` (identity notifications) or `eventType` (event publishing) says Bounce, Complaint or
Delivery; a bounce lists its bouncedRecipients under a bounceType, a complaint its complainedRecipients
with a complaintFeedbackType. Deliveries and every other event type say nothing the loop acts on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from digest.core.bounces.events import EventKind, MailEvent, is_permanent
from digest.core.bounces.verp import read_return_path
from digest.core.bounces.webhooks.common import address, event_key, iso_time, mapping, one_line

SOURCE = "ses"


def ses_events(message: str, sns_message_id: str, keys: Sequence[str] = ()) -> list[MailEvent]:
    """The bounces and complaints of one SES notification (`message`, the SNS Message's text); `keys` are the
    site's secrets, to read a VERP return path SES reports as the mail's source."""
    try:
        notification = json.loads(message)
    except ValueError:
        return []  # SES's own "Successfully validated SNS topic" test message is plain text
    if not isinstance(notification, dict):
        return []
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = mapping(notification.get("mail"))
    if kind == "Bounce":
        return _bounces(mapping(notification.get("bounce")), mail, sns_message_id, keys)
    if kind == "Complaint":
        return _complaints(mapping(notification.get("complaint")), mail, sns_message_id, keys)
    return []


def _bounce_kind(bounce_type: object, status: str) -> EventKind:
    if bounce_type == "Permanent":
        return EventKind.HARD_BOUNCE
    if bounce_type == "Transient":
        return EventKind.SOFT_BOUNCE
    # Undetermined: the recipient's status code decides; without one it is scored, not suppressed.
    return EventKind.HARD_BOUNCE if is_permanent(status) else EventKind.SOFT_BOUNCE


def _bounces(bounce: dict[str, Any], mail: dict[str, Any], sns_id: str, keys: Sequence[str]) -> list[MailEvent]:
    feedback = bounce.get("feedbackId") or sns_id
    sub_type = one_line(bounce.get("bounceSubType"), 40)
    delivery_id, subscriber_id = _return_path(mail, keys)
    found = []
    for recipient in _dicts(bounce.get("bouncedRecipients")):
        email = address(recipient.get("emailAddress"))
        if email is None:
            continue
        status = one_line(recipient.get("status"), 16)
        diagnostic = one_line(recipient.get("diagnosticCode"))
        found.append(
            MailEvent(
                kind=_bounce_kind(bounce.get("bounceType"), status),
                key=event_key(SOURCE, feedback, email),
                source=SOURCE,
                email=email,
                status=status,
                detail=one_line(f"{bounce.get('bounceType')}/{sub_type}: {diagnostic}" if diagnostic else sub_type),
                raw_ref=_raw_ref(feedback, mail, sns_id),
                at=iso_time(bounce.get("timestamp")),
                delivery_id=delivery_id,
                subscriber_id=subscriber_id,
                message_id=_header_message_id(mail),
            )
        )
    return found


def _complaints(complaint: dict[str, Any], mail: dict[str, Any], sns_id: str, keys: Sequence[str]) -> list[MailEvent]:
    feedback_type = one_line(complaint.get("complaintFeedbackType"), 40)
    if feedback_type == "not-spam":
        return []  # the recipient said the opposite: nothing to hold against the address
    feedback = complaint.get("feedbackId") or sns_id
    delivery_id, subscriber_id = _return_path(mail, keys)
    found = []
    for recipient in _dicts(complaint.get("complainedRecipients")):
        email = address(recipient.get("emailAddress"))
        if email is None:
            continue
        found.append(
            MailEvent(
                kind=EventKind.COMPLAINT,
                key=event_key(SOURCE, feedback, email),
                source=SOURCE,
                email=email,
                detail=feedback_type or one_line(complaint.get("complaintSubType"), 40) or "complaint",
                raw_ref=_raw_ref(feedback, mail, sns_id),
                at=iso_time(complaint.get("timestamp")),
                delivery_id=delivery_id,
                subscriber_id=subscriber_id,
                message_id=_header_message_id(mail),
            )
        )
    return found


def _dicts(value: object) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _raw_ref(feedback: object, mail: dict[str, Any], sns_id: str) -> str:
    return one_line(f"ses feedback {feedback}; mail {mail.get('messageId', '?')}; sns {sns_id}", 500)


def _return_path(mail: dict[str, Any], keys: Sequence[str]) -> tuple[int | None, int | None]:
    """The delivery (or form mail's subscriber) the mail's envelope sender names, when it is one of our VERP
    return paths: SES reports the MAIL FROM it was given as the mail's `source`."""
    source = mail.get("source")
    found = read_return_path(keys, source) if keys and isinstance(source, str) else None
    if found is None:
        return None, None
    return found.delivery_id, found.subscriber_id


def _header_message_id(mail: dict[str, Any]) -> str:
    """The original's Message-ID header (SES's own messageId is not it), when SES passed the headers on."""
    value = mapping(mail.get("commonHeaders")).get("messageId")
    return one_line(value, 300) if isinstance(value, str) else ""
