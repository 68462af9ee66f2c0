"""Text as a part's base64 payload: CRLF line ends, then lines of 76 characters, as the stdlib generator writes them."""

from __future__ import annotations

import binascii
import struct
from functools import lru_cache


def canonical_lines(data: bytes) -> bytes:
    """UTF-8 text with CRLF line ends. UTF-8 leaves CR and LF single bytes, so this works on the encoded bytes."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    return data.replace(b"\n", b"\r\n")


def base64_lines(data: bytes) -> bytes:
    """`data` in base64 lines of 76 characters, each ending in CRLF, as the generator writes them.

    Encoded in one call, not one per line as base64.encodebytes does.
    """
    lines = _base64_lines(binascii.b2a_base64(data, newline=False))
    return b"\r\n".join(lines) + b"\r\n" if lines else b""


def _base64_lines(encoded: bytes) -> list[bytes]:
    """`encoded` cut into lines of 76 characters, the last maybe shorter."""
    # Unpacking a run of 76-byte fields cuts up to 256 lines in one C call:
    # slicing them out one by one in Python cost as much as the encoding itself.
    lines: list[bytes] = []
    count, rest = divmod(len(encoded), 76)
    offset = 0
    while count:
        run = min(count, 256)
        lines += _fields_of_76(run).unpack_from(encoded, offset)
        offset += 76 * run
        count -= run
    if rest:
        lines.append(encoded[offset:])
    return lines


# Memo of a pure function of its argument: compiling the format once per run length, not once per message.
@lru_cache(maxsize=64)
def _fields_of_76(count: int) -> struct.Struct:
    return struct.Struct("76s" * count)
