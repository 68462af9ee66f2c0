"""The delivery loop's settings, from the environment (names in README.md's table).

Every one is optional: with none, mail goes out with the list's own sender as its return path, nothing
reads a mailbox, nothing is signed, and every webhook route answers 404.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# Amazon's SNS signing certificates come from these hosts only (the SNS developer guide: verify that the
# SigningCertURL is on an amazonaws.com host of SNS before fetching it).
DEFAULT_SNS_CERT_HOSTS = r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"
_DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", re.IGNORECASE)


class LoopSettingError(ValueError):
    """A delivery-loop variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class LoopSettings:
    # The VERP domain of lists that set none of their own (lists.bounce_domain); None: no VERP.
    bounce_domain: str | None = None
    # imaps://user:pass@host[:993]/INBOX, imap://…?starttls=1, pop3s://…, pop3://…?starttls=1, maildir:///path
    mailbox_url: str | None = None
    # Where read mail goes (a folder of the mailbox); with delete_processed it is deleted instead.
    processed_folder: str = "Processed"
    delete_processed: bool = False
    # How often the beat reads the mailbox; the sender page calls it stale after three times this.
    poll_seconds: float = 120.0
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_key_file: Path | None = None
    mailgun_signing_key: str | None = None
    sendgrid_public_key: str | None = None  # base64 DER (SubjectPublicKeyInfo), as SendGrid's console shows it
    postmark_secret: str | None = None  # the secret path segment of the webhook URL
    postmark_basic_auth: str | None = None  # "user:password" Postmark sends as HTTP basic auth
    sns_topic_arns: tuple[str, ...] = ()  # the SES notification topics accepted; empty: SNS refused
    sns_cert_hosts: str = DEFAULT_SNS_CERT_HOSTS

    @property
    def dkim_enabled(self) -> bool:
        return bool(self.dkim_selector and self.dkim_domain and self.dkim_key_file)


def dkim_aligned(sender_email: str, signing_domain: str) -> bool:
    """Whether a DKIM signature by `signing_domain` aligns with mail from `sender_email` for DMARC (relaxed: the
    same domain, or one inside the other; organisational domains need the public suffix list, not kept here)."""
    sender = sender_email.rpartition("@")[2].lower().rstrip(".")
    signer = signing_domain.lower().rstrip(".")
    return bool(sender) and (sender == signer or sender.endswith("." + signer) or signer.endswith("." + sender))


def check_domain(value: str, what: str) -> str:
    value = value.strip().lower().rstrip(".")
    if not _DOMAIN.fullmatch(value):
        raise LoopSettingError(f"{what}: {value!r} is not a domain name (e.g. bounce.example.org)")
    return value


def load_loop_settings(env: Mapping[str, str]) -> LoopSettings:
    def get(name: str) -> str | None:
        return (env.get(name) or "").strip() or None

    domain = get("DIGEST_BOUNCE_DOMAIN")
    dkim = (get("DIGEST_DKIM_SELECTOR"), get("DIGEST_DKIM_DOMAIN"), get("DIGEST_DKIM_KEY_FILE"))
    if any(dkim) and not all(dkim):
        raise LoopSettingError(
            "DKIM needs all three of DIGEST_DKIM_SELECTOR, DIGEST_DKIM_DOMAIN and DIGEST_DKIM_KEY_FILE"
        )
    basic = get("DIGEST_POSTMARK_BASIC_AUTH")
    if basic is not None and ":" not in basic:
        raise LoopSettingError("DIGEST_POSTMARK_BASIC_AUTH must be user:password")
    try:
        poll_seconds = float(get("DIGEST_BOUNCE_POLL_SECONDS") or 120)
    except ValueError:
        raise LoopSettingError("DIGEST_BOUNCE_POLL_SECONDS must be a number of seconds") from None
    if not 10 <= poll_seconds <= 86400:
        raise LoopSettingError("DIGEST_BOUNCE_POLL_SECONDS must be from 10 to 86400")
    hosts = get("DIGEST_SNS_CERT_HOSTS") or DEFAULT_SNS_CERT_HOSTS
    try:
        re.compile(hosts)
    except re.error as exc:
        raise LoopSettingError(f"DIGEST_SNS_CERT_HOSTS is not a regular expression: {exc}") from None
    return LoopSettings(
        bounce_domain=check_domain(domain, "DIGEST_BOUNCE_DOMAIN") if domain else None,
        mailbox_url=get("DIGEST_BOUNCE_MAILBOX"),
        processed_folder=get("DIGEST_BOUNCE_PROCESSED_FOLDER") or "Processed",
        delete_processed=(get("DIGEST_BOUNCE_DELETE_PROCESSED") or "0").lower() in ("1", "true", "yes"),
        poll_seconds=poll_seconds,
        dkim_selector=dkim[0],
        dkim_domain=check_domain(dkim[1], "DIGEST_DKIM_DOMAIN") if dkim[1] else None,
        dkim_key_file=Path(dkim[2]) if dkim[2] else None,
        mailgun_signing_key=get("DIGEST_MAILGUN_SIGNING_KEY"),
        sendgrid_public_key=get("DIGEST_SENDGRID_PUBLIC_KEY"),
        postmark_secret=get("DIGEST_POSTMARK_WEBHOOK_SECRET"),
        postmark_basic_auth=basic,
        sns_topic_arns=tuple(a.strip() for a in (get("DIGEST_SNS_TOPIC_ARNS") or "").split(",") if a.strip()),
        sns_cert_hosts=hosts,
    )
