"""A Maildir outbox: each message a file, written whole before it appears."""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from pathlib import Path

from digest.adapters.transports.base import Closing, TemporaryDeliveryError
from digest.core.domain import SendReceipt

# Shared by every MaildirTransport in the process: two outboxes opened in the same
# microsecond by one process would otherwise hand out the same name.
_deliveries = itertools.count(1)
_deliveries_lock = threading.Lock()


class MaildirTransport(Closing):
    """Writes each message into a Maildir (tmp/, then an atomic rename into new/).

    Files end in .eml so a desktop opens them in a mail client; Maildir readers
    accept any unique name without a colon.
    """

    def __init__(self, path: Path):
        self.path = Path(path).resolve()
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)
        self._host = socket.gethostname().replace("/", "\\057").replace(":", "\\072")

    def _unique(self) -> str:
        # The customary shape (seconds.MmicrosecondsPpidQcount.host): some tools read
        # the leading number as the delivery time.
        with _deliveries_lock:
            counter = next(_deliveries)
        seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
        return f"{seconds}.M{micros}P{os.getpid()}Q{counter}.{self._host}"

    def send(self, message: bytes, *, sender: str, recipient: str) -> SendReceipt:
        data = _file_form(message)
        name = self._unique()
        tmp = self.path / "tmp" / name
        final = self.path / "new" / f"{name}.eml"
        try:
            # "x": a name clash means the unique name was not unique; never overwrite.
            with open(tmp, "xb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, final)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            # A full or unwritable disk may be fixed before the next run and is no
            # recipient's fault: no recipient, so the caller stops rather than failing everyone.
            raise TemporaryDeliveryError(f"cannot write to {self.path}: {exc}") from None
        return SendReceipt(where=str(final))


def _file_form(message: bytes) -> bytes:
    """The message as a Maildir file holds it: no dot doubled for SMTP, the local line ending."""
    if message.startswith(b".."):
        message = message[1:]
    return message.replace(b"\n..", b"\n.").replace(b"\r\n", b"\n")
