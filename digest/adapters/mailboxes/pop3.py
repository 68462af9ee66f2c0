"""POP3 (pop3s://, pop3://…?starttls=1): RETRs pipelined, and DELE only when the admin chose deletion.

POP3 has no folders, so without deletion processed mail stays on the server (keeps_processed): the caller
skips the UIDLs it has read already.
"""

from __future__ import annotations

import contextlib
import poplib
from collections.abc import Iterator, Sequence

from digest.adapters.mailboxes.address import MailboxAddress
from digest.adapters.mailboxes.base import (
    NETWORK_ERRORS,
    Closing,
    InboundItem,
    MailboxError,
    chunked,
    failing_as,
)

# Commands sent before their replies are read, when the server offers PIPELINING (RFC 2449): one round trip
# for many mails instead of one each.
PIPELINE = 50
# Far longer than any line RFC 5322 allows: a malformed mail is still read whole, a runaway server is not.
MAX_LINE = 1 << 20


def _read_multiline(pop: poplib.POP3) -> bytes:
    """The lines after a +OK up to the lone ".", dot-unstuffed, line endings kept as the server sent them."""
    pieces: list[bytes] = []
    at_line_start = True
    while True:
        piece = pop.file.readline(MAX_LINE)
        if not piece:
            raise poplib.error_proto("-ERR the connection closed in the middle of a mail")
        if at_line_start:
            if piece in (b".\r\n", b".\n"):
                return b"".join(pieces)
            if piece.startswith(b"."):
                piece = piece[1:]
        pieces.append(piece)
        at_line_start = piece.endswith(b"\n")


def _pipelined(pop: poplib.POP3, commands: Sequence[str], multiline: bool) -> list[bytes]:
    """Send every command, then read every reply (the mails, for RETR); any -ERR fails the lot, in sync."""
    pop.sock.sendall(b"".join(command.encode("ascii") + b"\r\n" for command in commands))
    replies: list[bytes] = []
    refused: list[str] = []
    for command in commands:
        status = pop.file.readline(MAX_LINE)
        if not status:
            raise poplib.error_proto("-ERR the connection closed")
        if not status.startswith(b"+OK"):
            refused.append(f"{command}: {status.decode('utf-8', 'replace').strip()}")
            continue
        replies.append(_read_multiline(pop) if multiline else status)
    if refused:
        raise poplib.error_proto("; ".join(refused))
    return replies


class Pop3Mailbox(Closing):
    def __init__(self, address: MailboxAddress, *, processed_folder: str, delete_processed: bool, timeout: float):
        self.name = address.name
        self.keeps_processed = not delete_processed
        self._address = address
        self._delete = delete_processed
        self._timeout = timeout
        self._batch = 1
        self._pop: poplib.POP3 | None = self._connect()

    def _guard(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return failing_as(doing, self._address.where, self._address.password)

    def _connect(self) -> poplib.POP3:
        address = self._address
        with self._guard("connecting over POP3"):
            context = address.tls_context() if address.encrypted else None
            if address.implicit_tls:
                pop: poplib.POP3 = poplib.POP3_SSL(address.host, address.port, timeout=self._timeout, context=context)
            else:
                pop = poplib.POP3(address.host, address.port, timeout=self._timeout)
        try:
            if address.starttls:
                with self._guard("STLS"):
                    if "STLS" not in self._capabilities(pop):
                        raise MailboxError(f"STLS at {address.where}: the server does not offer it")
                    pop.stls(context)
            with self._guard(f"logging in as {address.user}"):
                pop.user(address.user)
                pop.pass_(address.password)
            self._batch = PIPELINE if "PIPELINING" in self._capabilities(pop) else 1
        except BaseException:
            with contextlib.suppress(OSError):  # a failed handshake leaves a closed socket behind
                pop.close()
            raise
        return pop

    @staticmethod
    def _capabilities(pop: poplib.POP3) -> dict[str, list[str]]:
        try:
            return pop.capa()
        except poplib.error_proto:  # a server from before CAPA (RFC 2449): no STLS, no pipelining
            return {}

    def _session(self) -> poplib.POP3:
        if self._pop is None:
            raise MailboxError(f"{self._address.where}: the mailbox is closed")
        return self._pop

    def _listing(self, pop: poplib.POP3) -> list[tuple[int, str]]:
        """(message number, UIDL) of every mail, in the maildrop's order: oldest first."""
        with self._guard("listing mail (UIDL)"):
            _, lines, _ = pop.uidl()
        listing = []
        for line in lines:
            number, _, uidl = line.decode("ascii", "replace").partition(" ")
            listing.append((int(number), uidl.strip()))
        return listing

    def items(self, limit: int | None = None) -> Iterator[InboundItem]:
        pop = self._session()
        listing = self._listing(pop)
        if limit is not None:
            listing = listing[: max(limit, 0)]
        for chunk in chunked(listing, self._batch):
            with self._guard("fetching mail"):
                raws = _pipelined(pop, [f"RETR {number}" for number, _ in chunk], multiline=True)
            for (_, uidl), raw in zip(chunk, raws, strict=True):
                yield InboundItem(uidl, raw)

    def finish(self, refs: Sequence[str]) -> None:
        """With deletion, DELE each; the server deletes them at QUIT (close()), not before.

        The session stays open, so finish() may come between the items of one read, as the poll does it.
        A session that dies before QUIT deletes nothing: those mails are read again next time.
        """
        if not self._delete:
            return  # no folder to move to: the mail stays, and keeps_processed tells the caller so
        pop = self._session()
        wanted = set(refs)
        numbers = [number for number, uidl in self._listing(pop) if uidl in wanted]
        with self._guard("deleting mail"):
            for chunk in chunked(numbers, self._batch):
                _pipelined(pop, [f"DELE {number}" for number in chunk], multiline=False)

    def close(self) -> None:
        pop, self._pop = self._pop, None
        if pop is None:
            return
        try:
            pop.quit()
        except NETWORK_ERRORS:
            pop.close()
