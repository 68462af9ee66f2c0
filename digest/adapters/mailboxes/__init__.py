"""The bounce mailbox: mail read from IMAP, POP3 or a local Maildir, one interface for all three.

base.py      InboundItem, Mailbox (the interface), MailboxError, the error guard and chunking
address.py   a mailbox URL read into its parts (imaps://, imap://…?starttls=1, pop3s://, pop3://, maildir://)
imap.py      ImapMailbox: UIDs fetched many per round trip, processed mail moved (MOVE, or COPY + expunge)
pop3.py      Pop3Mailbox: RETRs pipelined, processed mail deleted only when the admin chooses
maildir.py   MaildirMailbox: the files of a local Maildir, processed mail moved to its .Processed folder

with open_mailbox("imaps://bounces:secret@mail.example.org/INBOX") as box:
    for item in box.items():
        ...                          # item.ref is stable across runs, item.raw the mail's bytes
    box.finish(refs_handled)         # moved to the processed folder (or deleted, or kept: keeps_processed)
"""

from __future__ import annotations

from digest.adapters.mailboxes.address import MailboxAddress, parse_mailbox_url
from digest.adapters.mailboxes.base import InboundItem, Mailbox, MailboxError
from digest.adapters.mailboxes.imap import ImapMailbox
from digest.adapters.mailboxes.maildir import MaildirMailbox
from digest.adapters.mailboxes.pop3 import Pop3Mailbox

__all__ = [
    "ImapMailbox",
    "InboundItem",
    "Mailbox",
    "MailboxAddress",
    "MailboxError",
    "MaildirMailbox",
    "Pop3Mailbox",
    "open_mailbox",
    "parse_mailbox_url",
]


def open_mailbox(
    url: str, *, processed_folder: str = "Processed", delete_processed: bool = False, timeout: float = 30.0
) -> Mailbox:
    """The mailbox `url` names, connected and logged in (MailboxError when it cannot be)."""
    address = parse_mailbox_url(url)
    if not delete_processed and not processed_folder.strip():
        raise MailboxError(f"{address.name}: the processed folder has no name")
    if address.protocol == "maildir":
        return MaildirMailbox(address, processed_folder=processed_folder, delete_processed=delete_processed)
    kind = ImapMailbox if address.protocol == "imap" else Pop3Mailbox
    return kind(address, processed_folder=processed_folder, delete_processed=delete_processed, timeout=timeout)
