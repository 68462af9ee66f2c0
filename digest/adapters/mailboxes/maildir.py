"""A local Maildir (maildir:///path): the files of new/ and cur/, processed ones moved to a Maildir++ folder.

A mail's ref is its unique name (the file name less the ":2,flags" info a reader may change), so a mail that
another reader moves from new/ to cur/ keeps its ref.
"""

from __future__ import annotations

import mailbox
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from digest.adapters.mailboxes.address import MailboxAddress
from digest.adapters.mailboxes.base import Closing, InboundItem, MailboxError, failing_as

SUBDIRS = ("new", "cur")


def unique_name(file_name: str) -> str:
    return file_name.partition(":")[0]


class MaildirMailbox(Closing):
    keeps_processed = False

    def __init__(self, address: MailboxAddress, *, processed_folder: str, delete_processed: bool):
        if address.path is None:
            raise MailboxError(f"{address.name}: a Maildir URL needs a path")
        self.name = address.name
        self._path = address.path
        self._processed = processed_folder
        self._delete = delete_processed
        if not all((self._path / sub).is_dir() for sub in ("new", "cur", "tmp")):
            raise MailboxError(f"{self._path}: not a Maildir (it needs new/, cur/ and tmp/)")
        if not delete_processed and ("/" in processed_folder or processed_folder.startswith(".")):
            raise MailboxError(f"{self._path}: {processed_folder!r} cannot name a Maildir++ folder (no / or leading .)")

    def _files(self) -> dict[str, Path]:
        """Every mail's file by its unique name; the dot-files of new/ and cur/ are not mail."""
        found: dict[str, Path] = {}
        with failing_as("listing mail", str(self._path)):
            for sub in SUBDIRS:
                with os.scandir(self._path / sub) as entries:
                    for entry in entries:
                        if not entry.name.startswith(".") and entry.is_file():
                            found[unique_name(entry.name)] = Path(entry.path)
        return found

    @staticmethod
    def _age(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except FileNotFoundError:
            return 0

    def items(self, limit: int | None = None) -> Iterator[InboundItem]:
        files = self._files()
        # Oldest first: by delivery time (the file's mtime, which a rename keeps), then by name.
        keys = sorted(files, key=lambda key: (self._age(files[key]), key))
        if limit is not None:
            keys = keys[: max(limit, 0)]
        for key in keys:
            raw = self._read(key, files[key])
            if raw is not None:
                yield InboundItem(key, raw)

    def _read(self, key: str, path: Path) -> bytes | None:
        with failing_as("reading mail", str(self._path)):
            try:
                return path.read_bytes()
            except FileNotFoundError:
                pass  # another reader moved it (new/ -> cur/, or flags changed): look again
            moved = self._files().get(key)
            return moved.read_bytes() if moved is not None else None

    def _processed_dir(self) -> Path:
        folder = self._path / f".{self._processed}"
        if not all((folder / sub).is_dir() for sub in ("new", "cur", "tmp")):
            with failing_as(f"creating the folder {self._processed}", str(self._path)):
                mailbox.Maildir(self._path, create=False).add_folder(self._processed)
        return folder

    def finish(self, refs: Sequence[str]) -> None:
        files = self._files()
        chosen = [files[ref] for ref in dict.fromkeys(refs) if ref in files]
        if not chosen:
            return
        target = None if self._delete else self._processed_dir() / "cur"
        with failing_as("moving mail" if target else "deleting mail", str(self._path)):
            for path in chosen:
                try:
                    if target is None:
                        path.unlink()
                    else:
                        # A mail in cur/ carries an info suffix; one taken from new/ gets an empty one.
                        name = path.name if ":" in path.name else f"{path.name}:2,"
                        path.rename(target / name)
                except FileNotFoundError:
                    continue  # gone already: another reader took it away

    def close(self) -> None:
        pass
