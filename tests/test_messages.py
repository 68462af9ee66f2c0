"""Messages as they go on the wire: CRLF, short lines, ASCII headers, the list headers providers read."""

from __future__ import annotations

import email
import email.policy
from datetime import datetime, timedelta, timezone

import pytest

from digest.domain import RenderedDigest
from digest.links import make_recipient
from digest.messages import POLICY, build_message, message_bytes
from digest.rendering import make_environment, render_digest
from test_rendering import LIST, article, make_digest

SECRET = "test-secret-0123456789abcdef"
BEIJING = timezone(timedelta(hours=8))


def recipient(name="王芳", email_addr="wang.fang@example.cn", subscriber_id=7):
    return make_recipient(
        email=email_addr,
        name=name,
        subscriber_id=subscriber_id,
        list_slug=LIST.slug,
        issue_id=3,
        base_url="https://digest.example.org/",
        secret=SECRET,
        unsubscribe_mailbox="weekly@digest.example.org",
    )


@pytest.fixture(scope="module")
def env():
    return make_environment()


def build(env, digest=None, who=None, **kw):
    who = who or recipient()
    rendered = render_digest(digest or make_digest(), who, env)
    kw.setdefault("date", datetime(2021, 6, 21, 8, 0, tzinfo=BEIJING))
    return build_message(rendered, list_info=LIST, recipient=who, list_id_domain="digest.example.org", **kw)


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
    raw = message_bytes(build(env))
    assert_wire_safe(raw)
    msg = parse(raw)
    assert msg["Subject"] == "乡村振兴周报 第12期 · 2021年6月20日（4篇）"
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
    msg = parse(message_bytes(build(env)))
    assert msg["List-Id"] == "乡村振兴周报 <rural-weekly.digest.example.org>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https, mailto = [t.strip() for t in msg["List-Unsubscribe"].split(",")]
    assert https.startswith("<https://digest.example.org/u/") and https.endswith(">")
    assert mailto.startswith("<mailto:weekly@digest.example.org?subject=unsubscribe%20") and mailto.endswith(">")
    # Folded between the URLs only: no encoded word may hide the one-click URL.
    assert b"=?" not in message_bytes(build(env)).split(b"List-Unsubscribe:", 1)[1].split(b"List-Unsubscribe-Post", 1)[0]


def test_the_html_part_carries_the_same_unsubscribe_link(env):
    msg = parse(message_bytes(build(env)))
    url = msg["List-Unsubscribe"].split(",")[0].strip("<> ")
    assert f'href="{url}"' in msg.get_body(("html",)).get_content()


def test_message_ids_are_unique_and_a_given_one_is_kept(env):
    a, b = build(env), build(env)
    assert a["Message-ID"] != b["Message-ID"]
    assert a["Message-ID"].endswith("@digest.example.org>")
    kept = parse(message_bytes(build(env, message_id="<issue3.sub7@digest.example.org>")))
    assert kept["Message-ID"] == "<issue3.sub7@digest.example.org>"


def test_a_long_unbroken_chinese_paragraph_stays_under_998_octets(env):
    body = "<p>" + "汉滨区建立健全区镇村三级医疗卫生服务网络" * 250 + "</p>"  # 5000 characters, no punctuation
    digest = make_digest({"macro": (article(1, "macro", "全国", "长文", body),)})
    raw = message_bytes(build(env, digest=digest))
    assert_wire_safe(raw)
    html = parse(raw).get_body(("html",)).get_content()
    assert "汉滨区建立健全区镇村三级医疗卫生服务网络" * 250 in html


def test_a_long_ascii_line_is_encoded_too():
    rendered = RenderedDigest("Weekly", "<p>" + "x" * 3000 + "</p>", "y" * 3000 + "\n")
    who = recipient(name="", email_addr="a@example.org")
    raw = message_bytes(build_message(rendered, list_info=LIST, recipient=who, list_id_domain="digest.example.org"))
    assert_wire_safe(raw)
    msg = parse(raw)
    # Text travels in canonical form, CRLF line ends included.
    assert msg.get_body(("plain",)).get_content().splitlines() == ["y" * 3000]
    assert msg["To"] == "a@example.org"


@pytest.mark.parametrize(
    "field",
    ["subject", "name", "email", "extra"],
)
def test_line_breaks_in_header_values_are_refused(env, field):
    rendered = RenderedDigest("周报", "<p>x</p>", "x\n")
    who = recipient()
    kw = {}
    if field == "subject":
        rendered = RenderedDigest("周报\r\nBcc: victim@example.org", "<p>x</p>", "x\n")
    elif field == "name":
        who = recipient(name="王芳\nBcc: victim@example.org")
    elif field == "email":
        who = recipient(email_addr="a@example.org\r\nBcc: victim@example.org")
    else:
        kw["extra_headers"] = {"X-Campaign": "week\r\nBcc: victim@example.org"}
    with pytest.raises(ValueError):
        build_message(rendered, list_info=LIST, recipient=who, list_id_domain="digest.example.org", **kw)


def test_extra_headers_cannot_override_the_builder(env):
    with pytest.raises(ValueError):
        build(env, extra_headers={"List-Unsubscribe": "<https://evil.example/>"})
    msg = build(env, extra_headers={"X-Digest-Issue": "3"})
    assert msg["X-Digest-Issue"] == "3"


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
    msg = build_message(rendered, list_info=LIST, recipient=recipient(name=name), list_id_domain="digest.example.org",
                        extra_headers={"X-Campaign": "第12期 " * 20})
    assert message_bytes(msg) == msg.as_bytes(policy=POLICY)


def test_a_message_changed_after_building_is_still_written_whole(env):
    msg = build(env)
    added = " ".join(["中文 header"] * 10)
    msg["X-Added-Later"] = added
    raw = message_bytes(msg)
    assert_wire_safe(raw)
    assert parse(raw)["X-Added-Later"] == added
