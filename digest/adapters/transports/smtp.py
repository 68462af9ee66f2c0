"""SMTP: one connection, reused, the envelope pipelined, the content sent only once the caller wants it."""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from collections.abc import Callable
from typing import TypeVar, cast
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from digest.adapters.transports.base import (
    Closing,
    DeliveryError,
    Envelope,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from digest.core.domain import SendReceipt

_T = TypeVar("_T")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _error_for(code: int, detail: bytes | str, recipient: str | None) -> DeliveryError:
    # Only a 5xx is a verdict; anything else unexpected is a confused exchange that a
    # later attempt may get right, so it must not cost a subscriber their address.
    kind = PermanentDeliveryError if 500 <= code < 600 else TemporaryDeliveryError
    return kind(_text(detail), code=code, recipient=recipient)


def _redact(parts: SplitResult) -> str:
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.replace(":" + parts.password + "@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def _flag(value: str, name: str, shown: str) -> bool:
    value = value.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"DIGEST_SMTP_URL: {name} must be 1 or 0: {shown!r}")


class SMTPTransport(Closing):
    """One SMTP connection, opened on the first send and reused for every message after it."""

    def __init__(self, url: str):
        parts = urlsplit(url.strip())
        shown = _redact(parts)  # error messages end up in logs: never the password
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"DIGEST_SMTP_URL must start with smtp:// or smtps://, got {shown!r}")
        if not parts.hostname:
            raise ValueError(f"DIGEST_SMTP_URL has no host: {shown!r}")
        try:
            port = parts.port
        except ValueError:  # not a number, or out of range
            port = 0
        if port == 0:
            raise ValueError(f"DIGEST_SMTP_URL has a bad port: {shown!r}")
        try:
            query = {k: v[-1] for k, v in parse_qs(parts.query, strict_parsing=bool(parts.query)).items()}
        except ValueError:
            raise ValueError(f"DIGEST_SMTP_URL has a malformed query: {shown!r}") from None
        unknown = set(query) - {"starttls", "timeout", "verify", "helo"}
        if unknown:
            raise ValueError(f"DIGEST_SMTP_URL has unknown option(s) {', '.join(sorted(unknown))}: {shown!r}")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = _flag(query.get("starttls", "0"), "starttls", shown)
        self.verify = _flag(query.get("verify", "1"), "verify", shown)
        try:
            self.timeout = float(query.get("timeout", "30"))
        except ValueError:
            self.timeout = 0.0
        if not 0 < self.timeout < float("inf"):
            raise ValueError(f"DIGEST_SMTP_URL has a bad timeout: {shown!r}")
        self.local_hostname = query.get("helo") or None
        self._smtp: smtplib.SMTP | None = None
        self.where = f"smtp://{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = None
        try:
            # The constructor connects (and cleans up after itself if that fails); STARTTLS
            # needs the host it was given to check the certificate against.
            if self.implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout)
            smtp.ehlo_or_helo_if_needed()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise PermanentDeliveryError(f"{self.where} does not offer STARTTLS, which the URL requires")
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.user:
                smtp.login(self.user, self.password or "")
            return smtp
        except BaseException as exc:
            if smtp is not None:
                smtp.close()
            if isinstance(exc, DeliveryError):
                raise
            if isinstance(exc, smtplib.SMTPAuthenticationError):
                # No recipient: the account is wrong, not any address, and callers must not
                # blame (or suppress) the subscriber whose message happened to be first.
                kind = TemporaryDeliveryError if 400 <= exc.smtp_code < 500 else PermanentDeliveryError
                raise kind(
                    f"login to {self.where} as {self.user!r} refused (check DIGEST_SMTP_URL): {_text(exc.smtp_error)}",
                    code=exc.smtp_code,
                ) from None
            if isinstance(exc, smtplib.SMTPNotSupportedError):
                raise PermanentDeliveryError(f"{self.where} cannot log in: {exc}") from None
            if isinstance(exc, smtplib.SMTPResponseException):
                raise _error_for(exc.smtp_code, exc.smtp_error, None) from None
            if isinstance(exc, (OSError, smtplib.SMTPException)):
                raise TemporaryDeliveryError(f"cannot connect to {self.where}: {exc}") from None
            raise

    def send(self, message: bytes, *, sender: str, recipient: str) -> SendReceipt:
        return self.begin(sender=sender, recipient=recipient).deliver(message)

    def begin(self, *, sender: str, recipient: str) -> Envelope:
        """MAIL, RCPT and DATA; a refusal is not raised here but by `deliver`, once the caller wants it."""
        try:
            self._check_addresses(sender, recipient)
            self._open_with_retry(sender, recipient)
        except DeliveryError as exc:
            return _Refused(exc)
        return _OpenData(self, sender, recipient)

    @staticmethod
    def _check_addresses(sender: str, recipient: str) -> None:
        # Without SMTPUTF8 no relay can route such an address, and smtplib would fail with
        # a UnicodeEncodeError that callers do not expect from a transport. A bad sender is
        # the list's configuration, not the subscriber's fault: no recipient for that one.
        for address, blamed in ((sender, None), (recipient, recipient)):
            if not address.isascii() or "\r" in address or "\n" in address:
                raise PermanentDeliveryError(f"cannot send to or from {address!r} over SMTP", recipient=blamed)

    def _open_with_retry(self, sender: str, recipient: str) -> None:
        self._once_more_if_dropped(lambda: self._open(sender, recipient), recipient)

    def _deliver(self, data: bytes, sender: str, recipient: str) -> SendReceipt:
        """The content of the open transaction; after a 421, the whole transaction once more."""

        def again() -> SendReceipt:
            self._open_with_retry(sender, recipient)
            return self._content(data, recipient)

        return self._once_more_if_dropped(lambda: self._content(data, recipient), recipient, again)

    def _once_more_if_dropped(
        self, attempt: Callable[[], _T], recipient: str, again: Callable[[], _T] | None = None
    ) -> _T:
        # The server hung up before it took the message: one fresh connection, one more try.
        try:
            return attempt()
        except _Dropped:
            self._discard()
        try:
            return (again or attempt)()
        except _Dropped as exc:
            self._discard()
            raise TemporaryDeliveryError(f"{self.where} dropped the connection: {exc}", recipient=recipient) from None

    def _open(self, sender: str, recipient: str) -> None:
        """Starts a transaction: on return the server waits for the content."""
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        try:
            replies = self._envelope(smtp, sender, recipient)
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _Dropped(str(exc)) from None
        mail: tuple[int, bytes] | None
        rcpt: tuple[int, bytes] | None
        data_reply: tuple[int, bytes] | None
        mail, rcpt, data_reply = ([*replies, None, None])[:3]
        try:
            # A refused sender is the account's or the server's problem, never this
            # recipient's: no recipient, so the caller stops instead of bouncing everyone.
            # (The casts: a reply is missing only when the check before it has raised.)
            self._check(*cast("tuple[int, bytes]", mail), (250,), None)
            self._check(*cast("tuple[int, bytes]", rcpt), (250, 251), recipient)
            self._check(*cast("tuple[int, bytes]", data_reply), (354,), recipient)
        except DeliveryError:
            if data_reply is not None and data_reply[0] == 354:
                # Pipelined, the server took DATA despite the refusal: end the empty content.
                self._end_empty_data(smtp)
            if self._smtp is not None:
                self._reset()
            raise

    def _content(self, data: bytes, recipient: str) -> SendReceipt:
        smtp = cast(smtplib.SMTP, self._smtp)  # connected: `_open` came just before
        try:
            smtp.send(data + b".\r\n")  # in DATA form already (see data_form) but for the ending dot
            code, reply = smtp.getreply()
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            # The content may have reached the server before it hung up: sending it
            # again here could deliver it twice, so the caller decides (later, once).
            self._discard()
            raise TemporaryDeliveryError(
                f"{self.where} dropped the connection during DATA: {exc}", recipient=recipient
            ) from None
        if code == 421:
            # The server refused the content and is closing: it did not take the message,
            # so one more try on a fresh connection cannot deliver it twice.
            raise _Dropped(_text(reply))
        if code != 250:
            self._reset()
            raise _error_for(code, reply, recipient)
        return SendReceipt(where=self.where, extra={"response": f"{code} {_text(reply)}"})

    @staticmethod
    def _envelope(smtp: smtplib.SMTP, sender: str, recipient: str) -> list[tuple[int, bytes]]:
        """MAIL, RCPT and DATA and their replies, as far as the exchange got."""
        if smtp.has_extn("pipelining"):
            # RFC 2920: the three commands in one write, their replies read in order.
            # Two round trips a message instead of four; most of the cost on a fast relay.
            smtp.send(f"MAIL FROM:{_quoted(sender)}\r\nRCPT TO:{_quoted(recipient)}\r\nDATA\r\n")
            return [smtp.getreply() for _ in range(3)]
        replies = [smtp.mail(sender)]
        if replies[-1][0] == 250:
            replies.append(smtp.rcpt(recipient))
            if replies[-1][0] in (250, 251):
                replies.append(smtp.docmd("DATA"))
        return replies

    def _end_empty_data(self, smtp: smtplib.SMTP) -> None:
        try:
            smtp.send(b".\r\n")
            smtp.getreply()
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _check(self, code: int, reply: bytes, ok: tuple[int, ...], recipient: str | None) -> None:
        if code in ok:
            return
        if code == 421 or code == -1:  # -1: smtplib read nothing, the server is gone
            raise _Dropped(_text(reply))
        raise _error_for(code, reply, recipient)

    def _reset(self) -> None:
        """After a refused transaction the connection is still good: RSET and carry on."""
        try:
            cast(smtplib.SMTP, self._smtp).rset()  # called only while connected
        except (smtplib.SMTPException, OSError):
            self._discard()

    def _discard(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(OSError):
                self._smtp.close()
        self._smtp = None

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._discard()


def _quoted(address: str) -> str:
    """<address> as smtplib.quoteaddr writes it; a plain addr-spec without parsing it first."""
    # quoteaddr parses every address as a header would (display names, comments),
    # which cost more than the rest of the envelope; a dot-atom needs none of it.
    return f"<{address}>" if _DOT_ATOM_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_DOT_ATOM_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")


class _Dropped(Exception):
    """The connection went away before the message was accepted."""


class _OpenData:
    """A transaction the server has said 354 to: it waits for the content."""

    def __init__(self, transport: SMTPTransport, sender: str, recipient: str):
        self._transport, self._sender, self._recipient = transport, sender, recipient
        self._used = False

    def deliver(self, message: bytes) -> SendReceipt:
        self._use()
        return self._transport._deliver(message, self._sender, self._recipient)

    def abandon(self) -> None:
        # SMTP has no way to cancel DATA but ending it, which would deliver an empty
        # message; a server must discard a transaction whose connection breaks before the dot.
        if not self._used:
            self._use()
            self._transport._discard()

    def _use(self) -> None:
        if self._used:
            raise RuntimeError("this SMTP transaction has already been delivered or abandoned")
        self._used = True


class _Refused:
    """A transaction the server refused before the content: `deliver` raises why."""

    def __init__(self, error: DeliveryError):
        self._error = error

    def deliver(self, message: bytes) -> SendReceipt:
        raise self._error

    def abandon(self) -> None:
        pass
