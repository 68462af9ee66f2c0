"""Article files to `ParseResult` (newsletter text, JSON Lines, CSV). Part of the pure core: imports digest.core only.

Parsers never touch the database. A problem with one article becomes a
`Problem` and the other articles are kept; a file that is not the format it
claims to be at all raises `IngestFormatError`, because reporting a problem on
every line of a binary or mislabelled file helps nobody.
"""

from __future__ import annotations

import os
from datetime import datetime

from digest.core.domain import ParseResult, Problem


class IngestFormatError(Exception):
    """The input is not in the format it claims (or is not text at all)."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


# Imported after IngestFormatError because the parsers raise it.
from digest.core.ingest.csvfile import parse_csv  # noqa: E402
from digest.core.ingest.jsonl import parse_jsonl  # noqa: E402
from digest.core.ingest.newsletter import parse_newsletter  # noqa: E402

FORMATS = ("newsletter", "jsonl", "csv")

EXTENSIONS = {
    ".txt": "newsletter",
    ".text": "newsletter",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
}

_BOM = b"\xef\xbb\xbf"

__all__ = [
    "EXTENSIONS",
    "FORMATS",
    "IngestFormatError",
    "format_for_path",
    "parse_csv",
    "parse_file",
    "parse_jsonl",
    "parse_newsletter",
    "parse_text",
]


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The format a file name implies, or IngestFormatError."""
    name = os.fspath(path)
    ext = os.path.splitext(name)[1].lower()
    try:
        return EXTENSIONS[ext]
    except KeyError:
        known = ", ".join(sorted(EXTENSIONS))
        raise IngestFormatError(
            Problem(
                f"unknown file type {ext or '(no extension)'!s}: expected one of {known}, "
                "or name the format explicitly",
                source=name,
                code="file_type_unknown" if ext else "file_type_missing",
                params={"ext": ext, "known": known} if ext else {"known": known},
            )
        ) from None


def decode(data: bytes, source: str) -> str:
    """UTF-8 bytes (a BOM is allowed) to text, or IngestFormatError saying where it broke."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # A NUL never occurs in text we accept, and it marks images, archives,
    # spreadsheets saved as .xlsx and UTF-16 files alike.
    nul = data.find(b"\x00")
    if nul != -1:
        raise IngestFormatError(
            Problem(
                f"binary data (NUL byte at offset {nul}): not a text file (a spreadsheet must be saved as CSV UTF-8)",
                source=source,
                line=data.count(b"\n", 0, nul) + 1,
                code="file_binary",
                params={"offset": nul},
            )
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise IngestFormatError(
            Problem(
                f"not UTF-8: invalid byte 0x{data[exc.start]:02x} at offset {exc.start} (re-save the file as UTF-8)",
                source=source,
                line=data.count(b"\n", 0, exc.start) + 1,
                code="file_not_utf8",
                params={"byte": f"0x{data[exc.start]:02x}", "offset": exc.start},
            )
        ) from None


def _unknown_format(fmt: str, source: str) -> Problem:
    known = ", ".join(FORMATS)
    return Problem(
        f"unknown format {fmt!r}: expected one of {known}",
        source=source,
        code="format_unknown",
        params={"format": fmt, "known": known},
    )


def sniff_format(text: str) -> str:
    """Guess the format of text that came without a file name (stdin, a form)."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("{"):
        return "jsonl"
    first_line = stripped.split("\n", 1)[0].lower()
    if "," in first_line and "title" in first_line:
        return "csv"
    return "newsletter"


def parse_text(
    text: str,
    source: str = "<text>",
    fmt: str | None = None,
    default_published: datetime | None = None,
) -> ParseResult:
    """Parse already-decoded text; `fmt` None means guess from the content."""
    if fmt is None:
        fmt = sniff_format(text)
    if fmt not in FORMATS:
        raise IngestFormatError(_unknown_format(fmt, source))
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise IngestFormatError(Problem("the input is empty", source=source, code="input_empty"))
    if fmt == "newsletter":
        return parse_newsletter(text, source, default_published)
    if fmt == "jsonl":
        return parse_jsonl(text, source, default_published)
    return parse_csv(text, source, default_published)


def parse_file(
    path: str | os.PathLike[str],
    *,
    default_published: datetime | None = None,
    fmt: str | None = None,
) -> ParseResult:
    """Read and parse one article file; the format comes from `fmt` or the extension."""
    source = os.fspath(path)
    if fmt is None:
        fmt = format_for_path(source)
    elif fmt not in FORMATS:
        raise IngestFormatError(_unknown_format(fmt, source))
    with open(source, "rb") as fh:
        data = fh.read()
    return parse_text(decode(data, source), source, fmt, default_published)
