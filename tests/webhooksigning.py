"""Providers' webhook requests made and signed in the tests, with keys of their own: an RSA key and a self-signed
certificate for SNS (served by FakeInternet, the internet's edge), an ECDSA P-256 key for SendGrid, an HMAC key
for Mailgun. The string SNS signs is built here from the developer guide's description, not from our reader."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import cache

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from digest.adapters.feeds.fetch import FetchFailed
from digest.core.bounces.settings import LoopSettings

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:us-east-1:123456789012:digest-ses"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem"
SUBSCRIBE_URL = f"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={TOPIC}&Token=t0k3n"
MAILGUN_KEY = "mailgun-signing-key-for-tests"
POSTMARK_SECRET = "pm-url-secret-0123456789"
POSTMARK_AUTH = "postmark:hook-password"


class FakeInternet:
    """The internet's edge: answers the URLs it was given, records every URL asked for."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = dict(pages)
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if url not in self.pages:
            raise FetchFailed("the server answered 404", status=404)
        return self.pages[url]


@cache
def sns_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def sns_certificate_pem() -> bytes:
    key = sns_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.us-east-1.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=30))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


def _string_to_sign(fields: dict[str, str]) -> bytes:
    if fields["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    text = "".join(f"{name}\n{fields[name]}\n" for name in names if name in fields)
    return text.encode()


def sns_message(fields: dict[str, str], version: str = "1", key: rsa.RSAPrivateKey | None = None) -> dict[str, str]:
    """`fields` with SignatureVersion, SigningCertURL (unless given) and their Signature."""
    signed = {"SignatureVersion": version, "SigningCertURL": CERT_URL, **fields}
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = (key or sns_key()).sign(_string_to_sign(signed), padding.PKCS1v15(), algorithm)
    return {**signed, "Signature": base64.b64encode(signature).decode()}


def ses_notification(ses: dict, message_id: str = "msg-1", at: datetime = NOW, **extra: str) -> dict[str, str]:
    fields = {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": TOPIC,
        "Message": json.dumps(ses),
        "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.") + "123Z",
        **extra,
    }
    return sns_message(fields)


def ses_bounce(email: str, bounce_type: str = "Permanent", status: str = "5.1.1", feedback: str = "fb-1") -> dict:
    return {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": email, "status": status, "action": "failed", "diagnosticCode": f"smtp; 550 {status}"}
            ],
            "timestamp": "2026-03-02T08:59:00.000Z",
            "feedbackId": feedback,
        },
        "mail": {"messageId": "ses-mail-1", "source": "weekly@digest.example.org"},
    }


def mailgun_body(event_data: dict, timestamp: int, token: str = "t" * 50, key: str = MAILGUN_KEY) -> dict:
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": str(timestamp), "token": token, "signature": signature},
        "event-data": event_data,
    }


@cache
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def sendgrid_public_key() -> str:
    der = (
        sendgrid_key()
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


def sendgrid_headers(body: bytes, timestamp: int, key: ec.EllipticCurvePrivateKey | None = None) -> dict[str, str]:
    signature = (key or sendgrid_key()).sign(str(timestamp).encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(timestamp),
        "Content-Type": "application/json",
    }


def postmark_auth(credentials: str = POSTMARK_AUTH) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


# Every provider configured with the keys above: what the readers' and the routes' tests run under.
LOOP = LoopSettings(
    mailgun_signing_key=MAILGUN_KEY,
    sendgrid_public_key=sendgrid_public_key(),
    postmark_secret=POSTMARK_SECRET,
    postmark_basic_auth=POSTMARK_AUTH,
    sns_topic_arns=(TOPIC,),
)
STAMP = int(NOW.timestamp())  # NOW as the Unix time Mailgun and SendGrid sign
