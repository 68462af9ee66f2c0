"""A mailbox URL read into its parts, and the TLS context it asks for.

    imaps://user:password@host[:993]/INBOX        IMAP over TLS from the first byte
    imap://user:password@host[:143]/INBOX?starttls=1
    pop3s://user:password@host[:995]              POP3 has one folder: the path is empty or INBOX
    pop3://user:password@host[:110]?starttls=1    (STLS)
    maildir:///var/mail/bounces                   a local Maildir, read as the files on disk

User and password are percent-encoded. Options: starttls=1, insecure=1 (no certificate check: for a
self-signed test server only), cafile=/path (trust this CA). Plain imap:// and pop3:// without STARTTLS
send the password in clear, so they are allowed to loopback only.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from digest.adapters.mailboxes.base import MailboxError

# scheme -> (protocol, default port, TLS from the first byte)
SCHEMES = {
    "imaps": ("imap", 993, True),
    "imap": ("imap", 143, False),
    "pop3s": ("pop3", 995, True),
    "pop3": ("pop3", 110, False),
    "maildir": ("maildir", 0, False),
}
OPTIONS = ("starttls", "insecure", "cafile")


@dataclass(frozen=True)
class MailboxAddress:
    protocol: str  # imap, pop3 or maildir
    name: str  # the URL without its password
    host: str = ""
    port: int = 0
    user: str = ""
    password: str = field(default="", repr=False)
    folder: str = "INBOX"
    path: Path | None = None  # a Maildir's directory
    implicit_tls: bool = False
    starttls: bool = False
    insecure: bool = False
    cafile: str | None = None

    @property
    def where(self) -> str:
        """Where errors say they happened: host:port and folder, or the Maildir's path."""
        if self.path is not None:
            return str(self.path)
        return f"{self.host}:{self.port} ({self.folder})" if self.protocol == "imap" else f"{self.host}:{self.port}"

    @property
    def encrypted(self) -> bool:
        return self.implicit_tls or self.starttls

    def tls_context(self) -> ssl.SSLContext:
        if self.insecure:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        try:
            return ssl.create_default_context(cafile=self.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise MailboxError(f"{self.name}: cannot read the CA file {self.cafile}: {exc}") from exc


def without_password(parts: SplitResult) -> str:
    """The URL as given, less its password (rebuilt from the parts: no string search for the password)."""
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    return parts._replace(netloc=netloc).geturl()


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(query: dict[str, str], name: str, shown: str) -> bool:
    value = query.get(name, "0").lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise MailboxError(f"mailbox URL {shown}: {name} must be 1 or 0, not {value!r}")


def _query(parts: SplitResult, shown: str) -> dict[str, str]:
    try:
        pairs = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
    except ValueError:
        raise MailboxError(f"mailbox URL {shown}: malformed query") from None
    unknown = sorted(set(pairs) - set(OPTIONS))
    if unknown:
        raise MailboxError(f"mailbox URL {shown}: unknown option(s) {', '.join(unknown)} (known: {', '.join(OPTIONS)})")
    return {key: values[-1] for key, values in pairs.items()}


def _maildir(parts: SplitResult, shown: str) -> MailboxAddress:
    if parts.netloc not in ("", "localhost") or parts.query:
        raise MailboxError(f"mailbox URL {shown}: a Maildir is maildir:///path/to/Maildir (a local path, no options)")
    path = unquote(parts.path)
    if not path:
        raise MailboxError(f"mailbox URL {shown}: no path")
    # urlsplit's geturl() spells maildir:///path as maildir:/path: keep the form people write.
    shown = f"maildir://{parts.path}" if parts.path.startswith("/") else shown
    return MailboxAddress("maildir", shown, path=Path(path), folder="")


def parse_mailbox_url(url: str) -> MailboxAddress:
    parts = urlsplit(url.strip())
    shown = without_password(parts)
    if parts.scheme not in SCHEMES:
        raise MailboxError(f"mailbox URL {shown}: the scheme must be one of {', '.join(s + '://' for s in SCHEMES)}")
    protocol, default_port, implicit_tls = SCHEMES[parts.scheme]
    if protocol == "maildir":
        return _maildir(parts, shown)
    try:
        port = parts.port or default_port
    except ValueError:
        raise MailboxError(f"mailbox URL {shown}: bad port") from None
    if not parts.hostname:
        raise MailboxError(f"mailbox URL {shown}: no host")
    if not parts.username or parts.password is None:
        raise MailboxError(f"mailbox URL {shown}: needs user:password@ before the host")
    query = _query(parts, shown)
    address = MailboxAddress(
        protocol,
        shown,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username),
        password=unquote(parts.password),
        folder=unquote(parts.path.lstrip("/")) or "INBOX",
        implicit_tls=implicit_tls,
        starttls=_flag(query, "starttls", shown),
        insecure=_flag(query, "insecure", shown),
        cafile=query.get("cafile") or None,
    )
    _check(address)
    return address


def _check(address: MailboxAddress) -> None:
    shown = address.name
    if address.implicit_tls and address.starttls:
        raise MailboxError(f"mailbox URL {shown}: starttls=1 is for imap:// and pop3://; this one is TLS throughout")
    if address.insecure and address.cafile:
        raise MailboxError(f"mailbox URL {shown}: insecure=1 and cafile= contradict each other; choose one")
    if not address.encrypted and not is_loopback(address.host):
        raise MailboxError(
            f"mailbox URL {shown}: plain {address.protocol}:// would send the password in clear to {address.host}; "
            f"use {address.protocol}s:// or ?starttls=1 (plain is allowed to loopback only)"
        )
    if address.protocol == "pop3" and address.folder.upper() != "INBOX":
        raise MailboxError(f"mailbox URL {shown}: POP3 has no folders but the inbox, not {address.folder!r}")
