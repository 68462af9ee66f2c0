"""Messages as they go on the wire: CRLF, short lines, ASCII headers, the list headers providers read."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import random
import string
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from test_rendering import LIST, article, make_digest

from digest.core.domain import ListInfo, Recipient, RenderedDigest
from digest.core.links import IssueLinks, make_recipient
from digest.core.messages import POLICY, MessageHeaders, message_bytes, reference_message, write_rendered
from digest.core.messages.headers import header_lines
from digest.core.messages.wire import _written
from digest.core.rendering import make_environment, render_digest

SECRET = "test-secret-0123456789abcdef"
BEIJING = timezone(timedelta(hours=8))


def recipient(name="王芳", email_addr="wang.fang@example.cn", subscriber_id=7):
    links = IssueLinks(LIST.slug, 3, "https://digest.example.org/", SECRET, "weekly@digest.example.org")
    return make_recipient(links, email=email_addr, name=name, subscriber_id=subscriber_id)


@pytest.fixture(scope="module")
def env():
    return make_environment()


def write(rendered: RenderedDigest, headers: MessageHeaders) -> bytes:
    """The production writer's bytes, held to the stdlib reference's for the same headers."""
    pinned = replace(
        headers,
        message_id=make_msgid(domain="digest.example.org") if headers.message_id is None else headers.message_id,
        boundary="=_digest_" + random.randbytes(16).hex() if headers.boundary is None else headers.boundary,
        date=datetime.now(UTC).replace(microsecond=0) if headers.date is None else headers.date,
    )
    raw = write_rendered(rendered, pinned)
    assert raw == message_bytes(reference_message(rendered, pinned))
    return raw


def headers_for(who, **kw) -> MessageHeaders:
    return MessageHeaders(list_info=LIST, recipient=who, list_id_domain="digest.example.org", **kw)


def build(env, digest=None, who=None, **kw) -> bytes:
    who = who or recipient()
    rendered = render_digest(digest or make_digest(), who, env)
    kw.setdefault("date", datetime(2021, 6, 21, 8, 0, tzinfo=BEIJING))
    return write(rendered, headers_for(who, **kw))


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def assert_wire_safe(raw: bytes):
    assert raw.endswith(b"\r\n")
    lines = raw.split(b"\r\n")
    assert not any(b"\n" in line or b"\r" in line for line in lines), "bare CR or LF"
    assert max(len(line) for line in lines) <= 998
    head = raw.split(b"\r\n\r\n", 1)[0]
    head.decode("ascii")  # encoded words only
    # Only List-Unsubscribe may run long, so that no URL in it is ever broken.
    folded = [line for line in head.split(b"\r\n") if not line.startswith((b"List-Unsubscribe:", b" <mailto:"))]
    assert max(len(line) for line in folded) <= 78


def test_message_is_wire_safe_and_parses_back(env):
    raw = build(env)
    assert_wire_safe(raw)
    msg = parse(raw)
    assert msg["Subject"] == "部署全面推进乡村振兴工作 等4篇 · 第12期"
    assert msg["From"].addresses[0].display_name == "乡村振兴周报"
    assert msg["From"].addresses[0].addr_spec == "weekly@digest.example.org"
    assert msg["To"].addresses[0].display_name == "王芳"
    assert msg["Reply-To"] == "editors@digest.example.org"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Date"].datetime == datetime(2021, 6, 21, 8, 0, tzinfo=BEIJING)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert all(p["MIME-Version"] is None for p in parts)
    text, html = (p.get_content() for p in parts)
    assert "财政部 | 部署全面推进乡村振兴工作" in text and "王芳，您好" in text
    assert "部署全面推进乡村振兴工作" in html and "王芳，您好" in html


def test_list_headers(env):
    msg = parse(build(env))
    assert msg["List-Id"] == "乡村振兴周报 <rural-weekly.digest.example.org>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [t.strip() for t in msg["List-Unsubscribe"].split(",")]
    assert https.startswith("<https://digest.example.org/u/") and https.endswith(">")
    assert mailto.startswith("<mailto:weekly@digest.example.org?subject=unsubscribe%20") and mailto.endswith(">")
    # Folded between the URLs only: no encoded word may hide the one-click URL.
    assert b"=?" not in build(env).split(b"List-Unsubscribe:", 1)[1].split(b"List-Unsubscribe-Post", 1)[0]


def test_the_html_part_carries_the_same_unsubscribe_link(env):
    msg = parse(build(env))
    url = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert f'href="{url}"' in msg.get_body(("html",)).get_content()


def test_message_ids_are_unique_and_a_given_one_is_kept(env):
    rendered = render_digest(make_digest(), recipient(), env)
    a, b = (parse(write_rendered(rendered, headers_for(recipient()))) for _ in range(2))
    assert a["Message-ID"] != b["Message-ID"]
    assert a["Message-ID"].endswith("@digest.example.org>")
    kept = parse(build(env, message_id="<issue3.sub7@digest.example.org>"))
    assert kept["Message-ID"] == "<issue3.sub7@digest.example.org>"


def test_a_long_unbroken_chinese_paragraph_stays_under_998_octets(env):
    body = "<p>" + "汉滨区建立健全区镇村三级医疗卫生服务网络" * 250 + "</p>"  # 5000 characters, no punctuation
    digest = make_digest({"macro": (article(1, "macro", "全国", "长文", body),)})
    raw = build(env, digest=digest)
    assert_wire_safe(raw)
    msg = parse(raw)
    html = msg.get_body(("html",)).get_content()
    assert "汉滨区建立健全区镇村三级医疗卫生服务网络" * 250 in html
    # The text part keeps the paragraph on one line of 15,000 octets: base64 carries it in short lines.
    assert "汉滨区建立健全区镇村三级医疗卫生服务网络" * 250 in msg.get_body(("plain",)).get_content().splitlines()
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["base64", "base64"]


def test_a_long_ascii_line_is_encoded_too():
    rendered = RenderedDigest("Weekly", "<p>" + "x" * 3000 + "</p>", "y" * 3000 + "\n")
    who = recipient(name="", email_addr="a@example.org")
    raw = write(rendered, headers_for(who))
    assert_wire_safe(raw)
    msg = parse(raw)
    # Text travels in canonical form, CRLF line ends included.
    assert msg.get_body(("plain",)).get_content().splitlines() == ["y" * 3000]
    assert msg["To"] == "a@example.org"


@pytest.mark.parametrize(
    "field",
    ["subject", "name", "email", "extra"],
)
# Not only CR and LF: the stdlib generator splits header values wherever
# str.splitlines() does, form feed and vertical tab included.
@pytest.mark.parametrize("brk", ["\r\n", "\n", "\r", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"])
def test_line_breaks_in_header_values_are_refused(env, field, brk):
    rendered = RenderedDigest("周报", "<p>x</p>", "x\n")
    who = recipient()
    kw = {}
    if field == "subject":
        rendered = RenderedDigest(f"周报{brk}Bcc: victim@example.org", "<p>x</p>", "x\n")
    elif field == "name":
        who = recipient(name=f"Wang Fang{brk}Bcc: victim@example.org")
    elif field == "email":
        who = recipient(email_addr=f"a@example.org{brk}Bcc: victim@example.org")
    else:
        kw["extra_headers"] = {"X-Campaign": f"week{brk}Bcc: victim@example.org"}
    with pytest.raises(ValueError):
        write_rendered(rendered, headers_for(who, **kw))
    with pytest.raises(ValueError):
        reference_message(rendered, headers_for(who, **kw))


def test_extra_headers_cannot_override_the_builder(env):
    with pytest.raises(ValueError):
        build(env, extra_headers={"List-Unsubscribe": "<https://evil.example/>"})
    assert parse(build(env, extra_headers={"X-Digest-Issue": "3"}))["X-Digest-Issue"] == "3"


@pytest.mark.parametrize("name", [".X-Dot", "X:Colon", "X Space", ""])
def test_an_extra_header_name_starting_with_a_dot_is_refused_too(env, name):
    # No line of a message starts with a dot, so transports send the bytes as they are.
    with pytest.raises(ValueError):
        build(env, extra_headers={name: "1"})


def test_a_naive_date_is_refused(env):
    with pytest.raises(ValueError):
        build(env, date=datetime(2021, 6, 21, 8, 0))


@pytest.mark.parametrize(
    "name, subject",
    [
        ("", "周报"),
        ("王芳", "乡村振兴周报 第12期 · 2021年6月20日（4篇）"),
        ("Zoë " + "Long" * 30, "A plain ASCII subject that is long enough to need folding across lines " * 2),
        ("欧阳" * 40, "长" * 200),
    ],
)
def test_the_direct_writer_gives_the_bytes_the_stdlib_generator_gives(env, name, subject):
    rendered = RenderedDigest(subject, "<p>正文\n" * 300 + "</p>", "正文\r\n" * 300)
    headers = headers_for(recipient(name=name), extra_headers={"X-Campaign": "第12期 " * 20})
    write(rendered, headers)


def test_a_usual_message_is_written_without_the_generator(env, monkeypatch):
    rendered = render_digest(make_digest(), recipient(), env)
    headers = headers_for(recipient(), message_id="<a@digest.example.org>", boundary="=_digest_b")
    expected = message_bytes(reference_message(rendered, headers))

    def refuse(*args, **kwargs):
        raise AssertionError("the generator ran")

    monkeypatch.setattr(EmailMessage, "as_bytes", refuse)
    assert write_rendered(rendered, headers) == expected


def test_a_header_the_generator_would_refold_is_written_by_the_generator(env):
    # A long unbroken ASCII value: the direct writer would leave it as it is, the generator folds it.
    raw = build(env, extra_headers={"X-Long": "x" * 120})
    assert_wire_safe(raw)
    assert parse(raw)["X-Long"] == "x" * 120


# A pinned message, as written before message_bytes had its own writer and the
# parts their own base64 lines: the sha256 of its bytes. It changes only with them.
PINNED_SHA256 = "8dca85e117b503e8dbc909d9c396fb72be24a38af6fa90665cb7fb898e9f3658"


def test_a_pinned_message_keeps_its_bytes():
    info = ListInfo(
        slug="rural-weekly",
        name="乡村振兴周报",
        topics=(),
        sender_name="乡村振兴周报",
        sender_email="weekly@digest.example.org",
        reply_to="editors@digest.example.org",
    )
    who = Recipient(
        "wang.fang@example.cn",
        "王芳",
        "https://digest.example.org/u/" + "Tok3n_-." * 9,
        "mailto:weekly@digest.example.org?subject=unsubscribe%20" + "Tok3n_-." * 9,
    )
    rendered = RenderedDigest(
        "乡村振兴周报 第12期 · 2021年6月20日（4篇）",
        "<p>王芳，您好</p>\n<p>" + "汉滨区建立健全区镇村三级医疗卫生服务网络" * 40 + "</p>\r\n<p>end</p>",
        "王芳，您好\n\n" + "财政部 | 部署全面推进乡村振兴工作\r\n" * 12 + "end",
    )
    headers = MessageHeaders(
        list_info=info,
        recipient=who,
        list_id_domain="digest.example.org",
        message_id="<issue3.sub7@digest.example.org>",
        date=datetime(2021, 6, 21, 8, 0, tzinfo=BEIJING),
        extra_headers={"X-Digest-Issue": "12"},
        boundary="=_digest_" + "0123456789abcdef" * 2,
    )
    raw = write(rendered, headers)
    assert hashlib.sha256(raw).hexdigest() == PINNED_SHA256


@pytest.mark.parametrize("size", [0, 1, 2, 3, 56, 57, 58, 114, 57 * 256 - 1, 57 * 256, 57 * 256 + 1, 57 * 700 + 13])
def test_bodies_are_the_base64_lines_encodebytes_writes(size):
    body = "x" * size
    rendered = RenderedDigest("s", body, body)
    for part in reference_message(rendered, headers_for(recipient())).iter_parts():
        assert part.get_payload().replace("\r\n", "\n") == base64.encodebytes(body.encode()).decode()
        assert part.get_content() == body
    for part in parse(write(rendered, headers_for(recipient()))).iter_parts():
        assert part.get_content() == body


BCHARS = string.ascii_letters + string.digits + "'()+_,-./:=? "


def test_a_pinned_boundary_is_used(env):
    pinned = "pinned'(boundary)+_,-./:= ?x"
    raw = build(env, boundary=pinned)
    assert f'boundary="{pinned}"'.encode() in raw
    assert raw.count(f"\r\n--{pinned}\r\n".encode()) == 2
    assert raw.endswith(f"\r\n--{pinned}--\r\n".encode())
    assert parse(raw).get_boundary() == pinned
    rendered = render_digest(make_digest(), recipient(), env)
    assert (
        parse(write_rendered(rendered, headers_for(recipient())))["Content-Type"]
        .params["boundary"]
        .startswith("=_digest_")
    )


@pytest.mark.parametrize("length", [66, 67, 70])
def test_a_boundary_of_any_allowed_length_is_written_as_the_generator_writes_it(env, length):
    boundary = ("0123456789" * 7)[:length]
    raw = build(env, boundary=boundary)
    assert parse(raw).get_boundary() == boundary


@pytest.mark.parametrize(
    "boundary",
    ["", "x" * 71, "ends in a space ", 'quote"d', "semi;colon", "tab\t", "中文", "a\r\nb", "=?utf-8?q?x?=", 7],
)
def test_a_boundary_outside_rfc_2046_is_refused(env, boundary):
    with pytest.raises(ValueError, match="boundary"):
        build(env, boundary=boundary)


def _random_text(rng, pieces, most):
    return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))


@pytest.mark.parametrize("seed", range(8))
def test_random_messages_are_written_as_the_generator_writes_them(env, seed):
    rng = random.Random(seed)
    words = ["王芳", "Zoë", "Ann", " ", "O'Brien", '"q"', "(c)", "a,b", "<x>", "=?", "\t", "😀", "Long" * 12, "长" * 30]
    body = ["正文", "line", "\n", "\r\n", "\r", " ", "x" * 100, "汉" * 60, "From me\n", ".", "\t"]
    fast = 0
    for _ in range(40):
        boundary = None
        if rng.random() < 0.5:
            boundary = _random_text(rng, BCHARS, 69) + rng.choice(BCHARS[:-1])
            while "=?" in boundary:
                boundary = boundary.replace("=?", "?")
        who = recipient(name=_random_text(rng, words, 6), email_addr=rng.choice(["a@example.org", "b" * 60 + "@x.org"]))
        rendered = RenderedDigest(
            _random_text(rng, words, 12) or "周报", _random_text(rng, body, 80), _random_text(rng, body, 40)
        )
        extra = rng.choice([None, {"X-Campaign": _random_text(rng, words, 8)}, {"X-A": "1", "X-B": "b" * 90}])
        headers = headers_for(
            who,
            extra_headers=extra,
            boundary=boundary,
            message_id=rng.choice([None, "issue3.sub7@digest.example.org", "m" * 80 + "@x"]),
        )
        write(rendered, headers)
        fast += all(_written(name, value) for name, value in header_lines(headers, rendered.subject)[0])
    assert fast  # some went by the direct writer, not all by the generator


def test_a_header_is_written_as_is_only_where_the_generator_would_write_it_so():
    # header_lines' own values rarely reach the corners; random ones do.
    rng = random.Random(2369)
    tame = list("abcXYZ019:/?=&%.-_~ <>,")
    wild = [
        *tame,
        "\t",
        "=?",
        "?=",
        "=?utf-8?q?a?=",
        "\r\n ",
        "\r\n",
        "\r",
        "\n",
        "\x0c",
        "\x0b",
        "\x1c",
        "\x85",
        "中",
        "\u2028",
        "x" * 40,
    ]
    long_url = "<https://digest.example.org/u/" + "t" * 60 + ">"
    values = [
        ("List-Unsubscribe", f"{long_url},\r\n <mailto:u@example.org?subject==?utf-8?q?a?=>"),  # decoded first
        ("Subject", f"{long_url},\r\n <a>,\r\n <b>"),  # the generic folder would join <a>, <b>
    ]
    for name, value in values:
        assert POLICY.fold_binary(name, value).decode("ascii") != f"{name}: {value}\r\n"
        assert _written(name, value) is None
    written = 0
    for _ in range(6000):
        name = rng.choice(["List-Unsubscribe", "list-unsubscribe", "Subject", "Message-ID", "X-A"])
        if rng.random() < 0.5:  # <URL>s, folded this way or that
            urls = [_random_text(rng, tame if rng.random() < 0.8 else wild, 90) for _ in range(rng.randint(1, 3))]
            value = rng.choice([",\r\n ", ", ", ",", ",\r\n\t"]).join(f"<{url}>" for url in urls)
        else:
            value = _random_text(rng, wild, 30)
        line = _written(name, value)
        if line is not None:
            written += 1
            assert line == POLICY.fold_binary(name, value).decode("ascii"), (name, value)
    assert written > 1000
