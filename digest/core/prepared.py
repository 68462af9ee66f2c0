"""A rendered content prepared once for all its recipients: base64 bodies with personal gaps.

A message's parts are base64. Encoding a whole 20 KB body, fixing its line ends
and cutting its lines for every recipient cost more than anything else in
building a message, yet only the few personal inserts (greeting, address,
links) differ between the recipients of one content. So each long static
stretch between markers is encoded once; per message only the inserts and the
few bytes joining them to their neighbours are.

Base64 works on groups of 3 bytes, and a pre-encoded stretch can only follow
output that ends on a group boundary: the 0 to 2 bytes before the boundary are
taken from the stretch into the per-message part, and the stretch is kept
encoded from each of those three offsets (built the first time one is needed).
Lines still hold at most 76 characters (RFC 2045), but those ending a per-message
part are shorter; decoders join lines, so the decoded bytes are what encoding
the whole body at once gives.
"""

from __future__ import annotations

from dataclasses import dataclass

from digest.core.domain import Recipient, RenderedDigest
from digest.core.messages.encoding import base64_lines, canonical_lines
from digest.core.rendering import marker_pieces, personal_values, personalise

# Shorter static stretches go with the inserts: not worth three encodings and a lookup.
_PREENCODE_FROM = 192


class Base64Body:
    """One part's text, UTF-8 with CRLF line ends, cut at its markers."""

    def __init__(self, text: str) -> None:
        pieces = marker_pieces(text)
        self._statics = [canonical_lines(p.encode("utf-8")) for p in pieces[0::2]]
        self._fields = pieces[1::2]
        # Per static stretch, its encodings from offsets 0, 1 and 2 once needed.
        self._encoded: list[list[bytes | None]] = [[None, None, None] for _ in self._statics]

    def fill(self, values: dict[str, str]) -> bytes:
        """The part's base64 payload for these marker values: lines ending in CRLF."""
        out: list[bytes] = []
        pending = b""  # bytes still to encode in this message
        for i, static in enumerate(self._statics):
            if i:
                pending += canonical_lines(values[self._fields[i - 1]].encode("utf-8"))
            if len(static) < _PREENCODE_FROM:
                pending += static
                continue
            skip = -len(pending) % 3
            pending += static[:skip]
            out.append(base64_lines(pending))
            out.append(self._stretch(i, skip))
            pending = static[_end_of_whole_groups(static, skip) :]
        out.append(base64_lines(pending))
        return b"".join(out)

    def _stretch(self, i: int, skip: int) -> bytes:
        encoded = self._encoded[i][skip]
        if encoded is None:
            static = self._statics[i]
            encoded = self._encoded[i][skip] = base64_lines(static[skip : _end_of_whole_groups(static, skip)])
        return encoded


def _end_of_whole_groups(static: bytes, skip: int) -> int:
    """Where the last whole 3-byte group of `static` from offset `skip` ends."""
    return skip + (len(static) - skip) // 3 * 3


@dataclass(frozen=True)
class PreparedContent:
    """What every recipient of one content shares; `fill` adds one recipient's inserts."""

    rendered: RenderedDigest
    text: Base64Body
    html: Base64Body

    @classmethod
    def of(cls, rendered: RenderedDigest) -> PreparedContent:
        return cls(rendered, Base64Body(rendered.text), Base64Body(rendered.html))

    def fill(self, recipient: Recipient) -> tuple[str, bytes, bytes]:
        """Subject, text payload and HTML payload (base64 lines) for `recipient`."""
        raw, escaped = personal_values(recipient)
        subject = self.rendered.subject
        if len(marker_pieces(subject)) > 1:  # rare: most subjects name no one
            subject = personalise(RenderedDigest(subject, "", ""), recipient).subject
        return subject, self.text.fill(raw), self.html.fill(escaped)
