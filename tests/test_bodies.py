"""Prepared bodies: a message made from pre-encoded stretches says exactly what the plain build says."""

from __future__ import annotations

import base64
import re
from datetime import datetime, timedelta, timezone

import pytest
from test_rendering import LIST, WANG, make_digest, recipient

from digest.core.domain import RenderedDigest
from digest.core.messages import MessageHeaders, message_bytes, reference_message, write_message
from digest.core.prepared import Base64Body, PreparedContent
from digest.core.rendering import make_environment, personalise, render_content

BEIJING = timezone(timedelta(hours=8))
PINNED = {
    "list_info": LIST,
    "list_id_domain": "digest.example.org",
    "message_id": "<issue3.sub7@digest.example.org>",
    "date": datetime(2021, 6, 21, 8, 0, tzinfo=BEIJING),
    "boundary": "=_digest_" + "0123456789abcdef" * 2,
}
# Names whose UTF-8 lengths leave every remainder modulo 3 before the long stretches,
# so every one of their three pre-encoded offsets is used; one needs escaping in HTML.
PEOPLE = [
    WANG,
    recipient("li@example.cn", "李"),
    recipient("a@example.cn", "A"),
    recipient("ab@example.cn", "Ab"),
    recipient("anon@example.cn", ""),
    recipient("x@example.cn", '<b>"Tom" & 王</b>'),
    recipient("long.name@example.cn", "欧阳" * 40, token="t" * 97),
]


@pytest.fixture(scope="module")
def content():
    return render_content(make_digest(), make_environment())


def split_message(raw: bytes, boundary: str):
    """Header block, and per part its header lines and its base64 lines."""
    head, _, body = raw.partition(b"\r\n\r\n")
    delimiter = b"--" + boundary.encode()
    chunks = body.split(delimiter + b"\r\n")
    assert chunks[0] == b"" and chunks[-1].endswith(b"\r\n" + delimiter + b"--\r\n")
    chunks[-1] = chunks[-1][: -len(delimiter) - 4]
    parts = []
    for chunk in chunks[1:]:
        part_head, _, payload = chunk.partition(b"\r\n\r\n")
        # The payload's own last CRLF, then the one that belongs to the next delimiter.
        assert payload.endswith(b"\r\n\r\n")
        parts.append((part_head, payload[:-4].split(b"\r\n")))
    return head, parts


@pytest.mark.parametrize("who", PEOPLE, ids=lambda r: r.email)
def test_a_prepared_message_says_what_the_plain_build_says(content, who):
    prepared = PreparedContent.of(content)
    subject, text, html = prepared.fill(who)
    wire = write_message(MessageHeaders(recipient=who, **PINNED), subject, text, html)
    plain = message_bytes(reference_message(personalise(content, who), MessageHeaders(recipient=who, **PINNED)))

    wire_head, wire_parts = split_message(wire, PINNED["boundary"])
    plain_head, plain_parts = split_message(plain, PINNED["boundary"])
    assert wire_head == plain_head
    assert [h for h, _ in wire_parts] == [h for h, _ in plain_parts]
    for (_, lines), (_, plain_lines) in zip(wire_parts, plain_parts, strict=False):
        assert base64.b64decode(b"".join(lines), validate=True) == base64.b64decode(b"".join(plain_lines))
        # RFC 2045: lines of at most 76 characters; padding only at the very end.
        assert all(0 < len(line) <= 76 and len(line) % 4 == 0 for line in lines)
        assert b"=" not in b"".join(lines[:-1])


def test_the_decoded_parts_are_the_personalised_text_with_crlf(content):
    subject, text, html = PreparedContent.of(content).fill(WANG)
    expected = personalise(content, WANG)
    assert subject == expected.subject
    assert base64.b64decode(text).decode() == expected.text.replace("\n", "\r\n")
    assert base64.b64decode(html).decode() == expected.html.replace("\r\n", "\n").replace("\n", "\r\n")
    assert "王芳，您好" in base64.b64decode(html).decode()


def test_long_stretches_are_encoded_once_per_offset_and_reused(content):
    prepared = PreparedContent.of(content)
    first = [prepared.fill(who) for who in PEOPLE]
    stretches = prepared.html._encoded
    assert any(all(variant is not None for variant in offsets) for offsets in stretches)
    # Reused, not rebuilt: the same objects serve later messages, with the same result.
    kept = [list(offsets) for offsets in stretches]
    assert [prepared.fill(who) for who in PEOPLE] == first
    assert all(
        a is b for offsets, old in zip(stretches, kept, strict=False) for a, b in zip(offsets, old, strict=False)
    )


def test_a_subject_with_a_marker_is_personalised(content):
    rendered = RenderedDigest("给DIGEST-PH-NAME-7f3a的周报", content.html, content.text)
    subject, _, _ = PreparedContent.of(rendered).fill(WANG)
    assert subject == "给王芳的周报"


@pytest.mark.parametrize(
    "text", ["", "x", "ab", "abc", "a\nb\r\nc\r", "DIGEST-PH-NAME-7f3a", "y" * 500 + "DIGEST-PH-EMAIL-7f3a"]
)
def test_edge_bodies_decode_to_their_text(text):
    payload = Base64Body(text).fill({"NAME": "王芳", "EMAIL": "w@example.cn"})
    expected = re.sub("DIGEST-PH-NAME-7f3a", "王芳", text).replace("DIGEST-PH-EMAIL-7f3a", "w@example.cn")
    expected = expected.replace("\r\n", "\n").replace("\n", "\r\n")
    assert base64.b64decode(payload) == expected.encode()
    assert payload == b"" or payload.endswith(b"\r\n")


def test_write_message_is_data_ready_and_refuses_a_torn_payload(content):
    subject, text, html = PreparedContent.of(content).fill(WANG)
    wire = write_message(MessageHeaders(recipient=WANG, **PINNED), subject, text, html)
    assert not wire.startswith(b".") and b"\r\n." not in wire and b"\n" not in wire.replace(b"\r\n", b"")
    with pytest.raises(ValueError, match="whole lines"):
        write_message(MessageHeaders(recipient=WANG, **PINNED), subject, text[:-2], html)
