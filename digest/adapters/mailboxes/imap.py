"""IMAP (imaps://, imap://…?starttls=1): mail fetched many UIDs per round trip, processed mail moved away."""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from digest.adapters.mailboxes.address import MailboxAddress
from digest.adapters.mailboxes.base import (
    NETWORK_ERRORS,
    Closing,
    InboundItem,
    MailboxError,
    chunked,
    failing_as,
)

# UIDs per FETCH: 500 mails in two round trips, and a reply of a few MB at most when they are bounces.
FETCH_CHUNK = 250
# UIDs per MOVE, COPY, STORE or EXPUNGE: the command line stays short even when the UIDs are scattered.
COMMAND_CHUNK = 500
_UID = re.compile(rb"[( ]UID (\d+)")


def mailbox_name(folder: str) -> str:
    """A folder name as an IMAP command takes it: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode("ascii")
            out.append("&" + encoded.rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in folder:
        if " " <= char <= "~":
            flush()
            out.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return '"' + "".join(out).replace("\\", "\\\\").replace('"', '\\"') + '"'


def sequence_set(uids: Sequence[int]) -> str:
    """Sorted UIDs as an IMAP set, runs folded: [1, 2, 3, 7, 9, 10] -> "1:3,7,9:10"."""
    runs: list[list[int]] = []
    for uid in uids:
        if runs and uid == runs[-1][1] + 1:
            runs[-1][1] = uid
        else:
            runs.append([uid, uid])
    return ",".join(str(a) if a == b else f"{a}:{b}" for a, b in runs)


def fetched_bodies(data: Sequence[Any]) -> list[tuple[int, bytes]]:
    """(UID, body) from a FETCH reply, whether the server puts UID before the body or after it."""
    found: list[tuple[int, bytes]] = []
    waiting: bytes | None = None  # a body whose UID comes in the bytes after it
    for part in data:
        if isinstance(part, tuple):
            header, body = part
            match = _UID.search(header)
            if match:
                found.append((int(match[1]), body))
                waiting = None
            else:
                waiting = body
        elif isinstance(part, bytes) and waiting is not None:
            match = _UID.search(part)
            if match:
                found.append((int(match[1]), waiting))
            waiting = None
    return found


def _text(data: Sequence[Any]) -> str:
    parts = [p.decode("utf-8", "replace") if isinstance(p, bytes) else str(p) for p in data if p is not None]
    return " ".join(parts) or "no reason given"


class ImapMailbox(Closing):
    keeps_processed = False

    def __init__(self, address: MailboxAddress, *, processed_folder: str, delete_processed: bool, timeout: float):
        self.name = address.name
        self._address = address
        self._processed = processed_folder
        self._delete = delete_processed
        if not delete_processed and processed_folder == address.folder:
            raise MailboxError(f"{address.where}: the processed folder cannot be the folder read")
        imap = self._connect(timeout)
        self._imap: imaplib.IMAP4 | None = imap
        try:
            self._capabilities = self._log_in()
            self._validity = self._select()
        except BaseException:
            imap.shutdown()
            raise

    def _guard(self, doing: str) -> contextlib.AbstractContextManager[None]:
        return failing_as(doing, self._address.where, self._address.password)

    def _connect(self, timeout: float) -> imaplib.IMAP4:
        address = self._address
        with self._guard("connecting over IMAP"):
            context = address.tls_context() if address.encrypted else None
            if address.implicit_tls:
                return imaplib.IMAP4_SSL(address.host, address.port, ssl_context=context, timeout=timeout)
            imap = imaplib.IMAP4(address.host, address.port, timeout=timeout)
            try:
                if address.starttls:
                    if "STARTTLS" not in imap.capabilities:
                        raise MailboxError(f"STARTTLS at {address.where}: the server does not offer it")
                    imap.starttls(context)
            except BaseException:
                with contextlib.suppress(OSError):  # a failed handshake leaves a closed socket behind
                    imap.shutdown()
                raise
            return imap

    @property
    def _session(self) -> imaplib.IMAP4:
        if self._imap is None:
            raise MailboxError(f"{self._address.where}: the mailbox is closed")
        return self._imap

    def _log_in(self) -> set[str]:
        """Log in (AUTHENTICATE PLAIN when offered: UTF-8 passwords; else LOGIN) and read the capabilities."""
        address, imap = self._address, self._session
        with self._guard(f"logging in as {address.user}"):
            if "AUTH=PLAIN" in imap.capabilities:
                token = b"\0" + address.user.encode() + b"\0" + address.password.encode()
                imap.authenticate("PLAIN", lambda _challenge: token)
            elif not (address.user + address.password).isascii():
                raise MailboxError(f"logging in at {address.where}: no AUTH=PLAIN, and LOGIN takes ASCII only")
            else:
                imap.login(address.user, address.password)
            # The capabilities before login are not those after it (MOVE, UIDPLUS): ask again.
            typ, data = imap.capability()
        words = data[0].decode("ascii", "replace").upper().split() if typ == "OK" and data and data[0] else []
        return set(words) | set(imap.capabilities)

    def _select(self) -> str:
        folder, imap = self._address.folder, self._session
        with self._guard("opening the folder"):
            typ, data = imap.select(mailbox_name(folder))
            if typ != "OK":
                raise MailboxError(f"opening the folder at {self._address.where}: {_text(data)}")
            _, validity = imap.response("UIDVALIDITY")
        return validity[0].decode("ascii") if validity and validity[0] else "0"

    def _run(self, doing: str, command: str, *args: str) -> list[Any]:
        with self._guard(doing):
            typ, data = self._session.uid(command, *args)
        if typ != "OK":
            raise MailboxError(f"{doing} at {self._address.where}: {_text(data)}")
        return data

    def _uids(self) -> list[int]:
        # UNDELETED: a mail marked for deletion whose expunge failed was handled already.
        data = self._run("listing mail", "SEARCH", "UNDELETED")
        return sorted(int(word) for line in data if line for word in line.split())

    def items(self, limit: int | None = None) -> Iterator[InboundItem]:
        uids = self._uids()
        if limit is not None:
            uids = uids[: max(limit, 0)]
        for chunk in chunked(uids, FETCH_CHUNK):
            data = self._run("fetching mail", "FETCH", sequence_set(chunk), "(UID BODY.PEEK[])")
            for uid, raw in sorted(fetched_bodies(data)):
                yield InboundItem(f"{self._validity}:{uid}", raw)

    def _uids_of(self, refs: Sequence[str]) -> list[int]:
        uids: set[int] = set()
        for ref in refs:
            validity, _, uid = ref.partition(":")
            if not uid.isdigit():
                raise MailboxError(f"{self._address.where}: {ref!r} is not an IMAP ref (UIDVALIDITY:UID)")
            if validity != self._validity:
                raise MailboxError(
                    f"{self._address.where}: the folder's UIDVALIDITY is {self._validity}, not {validity}: "
                    "its UIDs now name other mails, so nothing was moved"
                )
            uids.add(int(uid))
        return sorted(uids)

    def finish(self, refs: Sequence[str]) -> None:
        uids = self._uids_of(refs)
        if not uids:
            return
        target = mailbox_name(self._processed)
        if not self._delete:
            self._ensure_folder(target)
        for chunk in chunked(uids, COMMAND_CHUNK):
            uid_set = sequence_set(chunk)
            if self._delete:
                self._expunge(uid_set)
            elif "MOVE" in self._capabilities:
                self._run(f"moving mail to {self._processed}", "MOVE", uid_set, target)
            else:
                self._run(f"copying mail to {self._processed}", "COPY", uid_set, target)
                self._expunge(uid_set)

    def _expunge(self, uid_set: str) -> None:
        self._run("marking mail deleted", "STORE", uid_set, "+FLAGS.SILENT", r"(\Deleted)")
        if "UIDPLUS" in self._capabilities:
            self._run("expunging mail", "EXPUNGE", uid_set)
            return
        with self._guard("expunging mail"):
            self._session.expunge()

    def _ensure_folder(self, target: str) -> None:
        imap = self._session
        with self._guard(f"looking for the folder {self._processed}"):
            typ, data = imap.list('""', target)
        if typ == "OK" and any(data):
            return
        with self._guard(f"creating the folder {self._processed}"):
            typ, data = imap.create(target)
            if typ != "OK":
                raise MailboxError(f"creating the folder {self._processed} at {self._address.where}: {_text(data)}")
            imap.subscribe(target)  # so that mail clients show it; a refusal changes nothing here

    def close(self) -> None:
        imap, self._imap = self._imap, None
        if imap is None:
            return
        try:
            imap.logout()
        except NETWORK_ERRORS:
            imap.shutdown()
