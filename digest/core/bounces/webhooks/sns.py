"""Amazon SNS messages, verified as the SNS developer guide says ("Verifying the signatures of Amazon SNS
messages"): the signing certificate comes from an https URL on an SNS host of our allowlist and ends in .pem;
the string to sign is the message's name/value pairs for its type, in byte order, each name and value
followed by a newline; SignatureVersion 1 signs it with SHA1withRSA, 2 with SHA256withRSA.

Reading happens in two steps so the certificate's host is checked before anything is fetched: `read_sns`
checks the shape, the certificate and subscribe URLs, the topic and the timestamp; the edge then fetches the
certificate and `verify_sns` checks the signature with it.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from digest.core.bounces.settings import LoopSettings
from digest.core.bounces.webhooks.common import WebhookRefused, check_fresh, header, iso_time, json_object

# SNS retries a delivery for up to an hour by default; a message signed longer ago than that is a replay.
SNS_WINDOW = timedelta(hours=1)
NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
_SIGNED_FIELDS = {
    NOTIFICATION: ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    SUBSCRIPTION_CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    UNSUBSCRIBE_CONFIRMATION: ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"1": hashes.SHA1, "2": hashes.SHA256}
_REQUIRED = ("MessageId", "TopicArn", "Message", "Timestamp", "SignatureVersion", "Signature", "SigningCertURL")


@dataclass(frozen=True)
class SnsMessage:
    """One SNS message whose certificate URL, topic and time were found acceptable (its signature not yet)."""

    type: str
    message_id: str
    topic_arn: str
    message: str
    signed_at: datetime
    signature_version: str
    signature: str
    signing_cert_url: str
    subscribe_url: str | None
    fields: dict[str, Any]

    def string_to_sign(self) -> bytes:
        lines: list[str] = []
        for name in _SIGNED_FIELDS[self.type]:
            value = self.fields.get(name)
            if value is None:  # only Subject may be absent (the type's required fields were checked)
                continue
            lines += [name, str(value)]
        return ("\n".join(lines) + "\n").encode("utf-8")


def allowed_sns_url(url: str, hosts: str, *, pem: bool) -> bool:
    """True when `url` is https on a host `hosts` (a regular expression) matches in full, with no user or
    other port, and, for a certificate, a path ending in .pem."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username is not None or port not in (None, 443) or not parts.hostname:
        return False
    if not re.fullmatch(hosts, parts.hostname, re.IGNORECASE):
        return False
    return parts.path.endswith(".pem") if pem else True


def read_sns(headers: Mapping[str, str], body: bytes, loop: LoopSettings, now: datetime) -> SnsMessage:
    """The message in `body`, its URLs, topic and timestamp checked; WebhookRefused otherwise."""
    fields = json_object(body)
    kind = fields.get("Type")
    if kind not in _SIGNED_FIELDS:
        raise WebhookRefused(f"not an SNS message type this endpoint takes: {str(kind)[:40]!r}", 400)
    said = header(headers, "x-amz-sns-message-type")
    if said is not None and said != kind:
        raise WebhookRefused("the x-amz-sns-message-type header and the body's Type differ", 400)
    required = _REQUIRED + (("SubscribeURL", "Token") if kind != NOTIFICATION else ())
    missing = [name for name in required if not isinstance(fields.get(name), str)]
    if missing:
        raise WebhookRefused(f"the SNS message lacks {', '.join(missing)}", 400, "webhook_malformed")
    if fields["SignatureVersion"] not in _HASHES:
        raise WebhookRefused("unknown SignatureVersion (1 and 2 are known)", 400, "webhook_malformed")
    if not allowed_sns_url(fields["SigningCertURL"], loop.sns_cert_hosts, pem=True):
        raise WebhookRefused("the SigningCertURL is not an https .pem URL on an allowed SNS host", 403, "webhook_cert")
    subscribe_url = fields.get("SubscribeURL") if kind != NOTIFICATION else None
    if subscribe_url is not None and not allowed_sns_url(subscribe_url, loop.sns_cert_hosts, pem=False):
        raise WebhookRefused("the SubscribeURL is not an https URL on an allowed SNS host", 403, "webhook_cert")
    if fields["TopicArn"] not in loop.sns_topic_arns:
        raise WebhookRefused("the TopicArn is not one of the accepted topics", 403, "webhook_topic")
    signed_at = iso_time(fields["Timestamp"])
    if signed_at is None:
        raise WebhookRefused("the Timestamp is not an ISO 8601 instant", 400, "webhook_malformed")
    check_fresh(signed_at, now, SNS_WINDOW)
    return SnsMessage(
        type=kind,
        message_id=fields["MessageId"],
        topic_arn=fields["TopicArn"],
        message=fields["Message"],
        signed_at=signed_at,
        signature_version=fields["SignatureVersion"],
        signature=fields["Signature"],
        signing_cert_url=fields["SigningCertURL"],
        subscribe_url=subscribe_url,
        fields=fields,
    )


def verify_sns(message: SnsMessage, certificate: bytes, now: datetime) -> None:
    """Checks `message`'s signature with the public key of `certificate` (PEM, as SNS serves it), which must be
    an RSA certificate valid at `now`; WebhookRefused (401) otherwise."""
    try:
        cert = x509.load_pem_x509_certificate(certificate)
    except ValueError:
        raise WebhookRefused("the signing certificate could not be read", 401, "webhook_signature") from None
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise WebhookRefused("the signing certificate is not valid now", 401, "webhook_signature")
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise WebhookRefused("the signing certificate's key is not RSA", 401, "webhook_signature")
    try:
        signature = base64.b64decode(message.signature, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookRefused("the Signature is not base64", 401, "webhook_signature") from None
    algorithm = _HASHES[message.signature_version]()
    try:
        key.verify(signature, message.string_to_sign(), padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise WebhookRefused("the SNS signature does not match the message", 401, "webhook_signature") from None
