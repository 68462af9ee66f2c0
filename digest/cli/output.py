"""What the commands print beyond one line: tables padded by the width a terminal gives each character (a
Chinese character takes two columns), and progress bars that never have a warning written onto their line."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from itertools import islice
from typing import Any

import click
from wcwidth import wcswidth

# A long listing is streamed: its columns are as wide as the widest cell among the rows read first.
MEASURED_ROWS = 1000
MAX_COLUMN = 40
# Carriage return, then erase to the end of the line: the bar's line is gone and what follows starts afresh.
_WIPE = "\r\x1b[K"


def width(text: str) -> int:
    """Terminal columns `text` takes; a character with no width of its own (a control) counts one."""
    columns = wcswidth(text)
    return columns if columns >= 0 else sum(max(wcswidth(c), 1) for c in text)


def padded(text: str, columns: int) -> str:
    return text + " " * max(columns - width(text), 0)


def print_table(rows: Iterable[Sequence[Any]]) -> None:
    """Rows (a header first) as aligned columns, streamed: only the first MEASURED_ROWS are held to measure."""
    stream = iter(rows)
    first = [[str(cell) for cell in row] for row in islice(stream, MEASURED_ROWS)]
    if not first:
        return
    widths = [min(max(width(row[i]) for row in first if i < len(row)), MAX_COLUMN) for i in range(len(first[0]))]
    for row in (*first, *([str(c) for c in r] for r in stream)):
        click.echo("  ".join(padded(cell, w) for cell, w in zip(row, widths, strict=False)).rstrip())


def say(bar: Any, text: str, colour: str | None = None) -> None:
    """`text` on standard error on a line of its own while `bar` is drawn there: on a terminal the bar's line is
    wiped first (click draws it again at its next step), elsewhere the bar wrote its label with a line end."""
    if not bar.hidden and _is_terminal(bar.file):
        bar.file.write(_WIPE)
    click.secho(text, fg=colour, err=True)


def _is_terminal(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class _BesideBar(logging.Handler):
    """Log records (a warning from a service) said as `say` does, not glued to the bar."""

    def __init__(self, bar: Any):
        super().__init__(logging.WARNING)
        self.bar = bar

    def emit(self, record: logging.LogRecord) -> None:
        say(self.bar, self.format(record), "red" if record.levelno >= logging.ERROR else "yellow")


@contextmanager
def progressbar(iterable: Iterable[Any] | None = None, **options: Any) -> Iterator[Any]:
    """click's progress bar on standard error, with the process's warnings kept off its line while it is drawn."""
    with click.progressbar(iterable, file=sys.stderr, **options) as bar:
        handler = _BesideBar(bar)
        root = logging.getLogger()
        root.addHandler(handler)
        try:
            yield bar
        finally:
            root.removeHandler(handler)
