"""Delivery transports behind one small interface (`base`): a Maildir outbox and SMTP.

base.py      DeliveryError and its two kinds, Transport and Envelope, data_form
maildir.py   MaildirTransport
smtp.py      SMTPTransport
"""

from __future__ import annotations

from pathlib import Path

from digest.adapters.transports.base import (
    DeliveryError,
    Envelope,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    Transport,
    data_form,
)
from digest.adapters.transports.maildir import MaildirTransport
from digest.adapters.transports.smtp import SMTPTransport

__all__ = [
    "DeliveryError",
    "Envelope",
    "MaildirTransport",
    "PermanentDeliveryError",
    "SMTPTransport",
    "TemporaryDeliveryError",
    "Transport",
    "data_form",
    "open_transport",
]


def open_transport(smtp_url: str | None, outbox: Path) -> Transport:
    """SMTP when DIGEST_SMTP_URL is set, else the Maildir at DIGEST_OUTBOX."""
    if smtp_url:
        return SMTPTransport(smtp_url)
    return MaildirTransport(outbox)
