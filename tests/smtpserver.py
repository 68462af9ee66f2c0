"""A real SMTP server on loopback (aiosmtpd) that is strict about what it accepts and can be told to fail.

handler.fail_mail["me@example.org"] = (530, "5.7.0 auth required")  # every time, at MAIL FROM
handler.fail_rcpt["x@example.org"] = (550, "5.1.1 no such user")   # every time, at RCPT
handler.fail_once["y@example.org"] = (451, "4.3.0 try later")      # first RCPT only
handler.fail_data["w@example.org"] = (552, "5.3.4 too big")        # every time, after the content
handler.drop_at_rcpt.add("z@example.org")                          # hang up at RCPT, once
handler.drop_at_rcpt_always.add("v@example.org")                   # hang up at RCPT, every time
handler.drop_at_data.add("u@example.org")                          # hang up after the content, once
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

BARE_LF = re.compile(rb"(?<!\r)\n")
BARE_CR = re.compile(rb"\r(?!\n)")
REQUIRED_HEADERS = (b"date", b"message-id", b"from")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: object
    at: float = 0.0  # time.monotonic() when the content was accepted: the pace a sender kept


def strictness_problem(data: bytes) -> str | None:
    """Why a conforming server would refuse these bytes (RFC 5322 / 5321), or None."""
    if BARE_LF.search(data):
        return "bare LF in message"
    if BARE_CR.search(data):
        return "bare CR in message"
    if any(len(line) > 998 for line in data.split(b"\r\n")):
        return "line longer than 998 octets"
    head = data.split(b"\r\n\r\n", 1)[0]
    if any(b > 127 for b in head):
        return "non-ASCII bytes in the header section"
    names = {line.split(b":", 1)[0].strip().lower() for line in head.split(b"\r\n") if line[:1] not in (b" ", b"\t")}
    missing = [h.decode() for h in REQUIRED_HEADERS if h not in names]
    if missing:
        return f"missing header(s): {', '.join(missing)}"
    return None


@dataclass
class RecordingHandler:
    messages: list[Received] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    fail_mail: dict[str, tuple[int, str]] = field(default_factory=dict)
    fail_rcpt: dict[str, tuple[int, str]] = field(default_factory=dict)
    fail_once: dict[str, tuple[int, str]] = field(default_factory=dict)
    fail_data: dict[str, tuple[int, str]] = field(default_factory=dict)
    drop_at_rcpt: set[str] = field(default_factory=set)
    drop_at_rcpt_always: set[str] = field(default_factory=set)
    drop_at_data: set[str] = field(default_factory=set)
    connections: int = 0
    data_attempts: int = 0  # contents received, accepted or not
    pipelined_envelopes: int = 0  # MAILs whose RCPT had already arrived with them (RFC 2920)
    pipelining: bool = True  # offer RFC 2920 PIPELINING, as Postfix and most relays do
    data_delay: float = 0.0  # seconds before answering each content: a slower relay, so a fault lands mid-send
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        # `server` is one per connection and outlives STARTTLS (the session does not),
        # so a mark on it counts each connection once however often it greets.
        if not getattr(server, "_digest_counted", False):
            server._digest_counted = True
            with self.lock:
                self.connections += 1
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads commands in order from its buffer, so a pipelined
            # envelope just works; it only has to be offered.
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # A client that waits for each reply cannot have sent RCPT yet; one that
        # pipelines has, and it sits unread in the connection's buffer. (The buffer
        # is asyncio's private attribute: this is a test server, peeking on purpose.)
        if b"RCPT TO:" in bytes(getattr(server._reader, "_buffer", b"")):
            with self.lock:
                self.pipelined_envelopes += 1
        if address in self.fail_mail:
            code, text = self.fail_mail[address]
            return f"{code} {text}"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.drop_at_rcpt or address in self.drop_at_rcpt_always:
            self.drop_at_rcpt.discard(address)
            # Closed before the reply goes out: the client sees the connection vanish,
            # as it does when a server restarts or an idle connection is reaped.
            server.transport.close()
            return "421 4.4.2 closing connection"
        if address in self.fail_rcpt:
            code, text = self.fail_rcpt[address]
            return f"{code} {text}"
        if address in self.fail_once:
            code, text = self.fail_once.pop(address)
            return f"{code} {text}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        data = envelope.original_content
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        with self.lock:
            self.data_attempts += 1
        dropped = self.drop_at_data.intersection(envelope.rcpt_tos)
        if dropped:
            # The content arrived but no reply does: the client cannot know whether the
            # message was taken, which is the case where it must not simply resend.
            self.drop_at_data.difference_update(dropped)
            server.transport.close()
            return "421 4.4.2 closing connection"
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.fail_data:
                code, text = self.fail_data[rcpt]
                return f"{code} {text}"
        problem = strictness_problem(data)
        if problem:
            with self.lock:
                self.rejected.append((envelope.mail_from, problem))
            return f"554 5.6.0 {problem}"
        with self.lock:
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), data, session.peer, time.monotonic())
            )
            number = len(self.messages)
        return f"250 2.0.0 Ok: queued as Q{number}"


def free_port() -> int:
    """A port that was free a moment ago, for tests that need one to stay closed or to start a process on it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _AnyPortController(Controller):
    """A Controller that may be given port 0.

    aiosmtpd 1.4 checks that the server is up by connecting to self.port, which for
    port 0 is no port at all. The listening socket already knows the port the kernel
    chose, so learn it first; unlike probing for a free port beforehand, nothing else
    can take it in between.
    """

    def _trigger_server(self):
        if self.port == 0:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            # A client verifying the certificate (cafile=) matches 127.0.0.1 and localhost against these, not the CN.
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class Authenticator:
    def __init__(self, user: str, password: str):
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            self.user,
            self.password,
        )
        return AuthResult(success=ok, handled=False)


@dataclass
class SMTPServer:
    host: str
    port: int
    url: str
    handler: RecordingHandler
    controller: Controller

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages

    def stop(self) -> None:
        self.controller.stop()


def start_server(
    *,
    tls_context=None,
    implicit_tls_context=None,
    user: str | None = None,
    password: str | None = None,
    pipelining: bool = True,
) -> SMTPServer:
    """tls_context: STARTTLS offered and required. implicit_tls_context: TLS from the first byte (smtps)."""
    handler = RecordingHandler(pipelining=pipelining)
    kwargs = {}
    if user:
        # aiosmtpd only knows of TLS it started itself (STARTTLS): on an implicit-TLS
        # listener it would never offer AUTH if told to require TLS for it.
        kwargs.update(authenticator=Authenticator(user, password or ""), auth_require_tls=implicit_tls_context is None)
    if implicit_tls_context is not None:
        kwargs["ssl_context"] = implicit_tls_context
    controller = _AnyPortController(
        handler,
        hostname="127.0.0.1",
        port=0,
        decode_data=False,
        tls_context=tls_context,
        require_starttls=tls_context is not None,
        **kwargs,
    )
    controller.start()
    port = controller.port
    creds = f"{user}:{password}@" if user else ""
    if implicit_tls_context is not None:
        url = f"smtps://{creds}127.0.0.1:{port}?verify=0"
    elif tls_context is not None:
        url = f"smtp://{creds}127.0.0.1:{port}?starttls=1&verify=0"
    else:
        url = f"smtp://{creds}127.0.0.1:{port}"
    return SMTPServer("127.0.0.1", port, url, handler, controller)
