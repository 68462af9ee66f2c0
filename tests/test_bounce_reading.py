"""Reading the bounce mailbox's mail (digest.core.bounces.reading): each fixture gives exactly its events.

The fixtures (tests/fixtures/bounces/*.eml) are templates: `{VERP}` is the return path of delivery 41 signed with
this test's secret, `{TOKEN}` an unsubscribe token of subscriber 7, `{SUBJECT}` the unsubscribe mail's subject.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.core.bounces.events import EventKind
from digest.core.bounces.reading import read_mail
from digest.core.bounces.verp import return_path
from digest.core.tokens import sign_token

FIXTURES = Path(__file__).parent / "fixtures" / "bounces"
SECRET = "test-secret-bounce-reading-0123456789"
OLD_SECRET = "an-older-secret-rotated-out-9876543210"
DOMAIN = "bounce.example.org"
VERP = return_path(SECRET, DOMAIN, 41)
FORGED_VERP = return_path("not-the-site-secret-0123456789", DOMAIN, 41)
TOKEN = sign_token(SECRET, "unsubscribe", 7, "rural-weekly")

HARD, SOFT = EventKind.HARD_BOUNCE, EventKind.SOFT_BOUNCE
COMPLAINT, AUTO, UNSUBSCRIBE = EventKind.COMPLAINT, EventKind.AUTO_REPLY, EventKind.UNSUBSCRIBE


def fixture(name: str, **values: str) -> bytes:
    text = (FIXTURES / f"{name}.eml").read_text(encoding="utf-8")
    values = {"VERP": VERP, "FORGED_VERP": FORGED_VERP, "TOKEN": TOKEN, "SUBJECT": f"unsubscribe {TOKEN}", **values}
    for placeholder, value in values.items():
        text = text.replace("{" + placeholder + "}", value)
    return text.encode("utf-8")


def read(name: str, secrets: tuple[str, ...] = (SECRET,), **values: str):
    return read_mail(fixture(name, **values), secrets=secrets, source="mailbox", ref="imaps://bounce.example.org/INBOX")


def summary(reading) -> list[tuple]:
    return [(e.kind, e.email, e.status, e.delivery_id) for e in reading.events]


EXPECTED = {
    # DSNs (RFC 3464)
    "postfix_user_unknown": [(HARD, "gao.yan@example.net", "5.1.1", 41)],
    "postfix_mailbox_full": [(SOFT, "he.ping@example.net", "4.2.2", 41)],
    # Original-Recipient wins over Final-Recipient; the delayed recipient is not an event.
    "postfix_two_recipients": [
        (HARD, "lin.tao@example.net", "5.1.1", None),
        (SOFT, "song.yu@example.net", "4.4.7", None),
    ],
    "forged_verp_dsn": [(HARD, "victim@example.net", "5.1.1", None)],
    "gmail_user_unknown": [(HARD, "huang.wei@example.com", "5.1.1", 41)],
    "outlook_blocked": [(HARD, "xu.jing@contoso.example", "5.7.1", 41)],
    # Other shapes: flufl.bounce, our Chinese cues, the return path
    "exim_text": [(HARD, "li.wei@example.net", "5.1.1", 41)],
    "yahoo_text": [(HARD, "wang.fang@yahoo.com", "554", 41)],
    "qq_mailbox_full": [(SOFT, "zhao.lei@qq.com", "552", 41)],
    "netease_user_unknown": [(HARD, "chen.fang@163.com", "550", 41)],
    "netease_126_no_address": [(HARD, None, "", 41)],
    # Complaints (ARF)
    "arf_generic": [(COMPLAINT, "sun.li@isp.example", "", 41)],
    "arf_yahoo": [(COMPLAINT, None, "", 41)],
    "arf_jmrp": [(COMPLAINT, "zhou.min@hotmail.com", "", 41)],
    # Auto-replies
    "vacation_rfc3834": [(AUTO, "ma.jun@example.com", "", 41)],
    "outlook_automatic_reply": [(AUTO, "qian.bo@contoso.example", "", None)],
    "qq_autoreply": [(AUTO, "10086123@qq.com", "", 41)],
    "netease_autoreply": [(AUTO, "li.na@163.com", "", 41)],
    # The List-Unsubscribe mailto address
    "unsubscribe": [(UNSUBSCRIBE, "zhang.san@example.com", "", None)],
    # Understood, nothing to act on: a delay warning
    "gmail_delayed": [],
}
UNPARSED = {
    "arf_auth_failure": "auth-failure",
    "human_thanks": "not a bounce",
    "human_reply_to_return_path": "return path",
    "spam": "not a bounce",
}
AUTO_REPLIES = ("vacation_rfc3834", "outlook_automatic_reply", "qq_autoreply", "netease_autoreply")


def test_every_fixture_is_expected_somewhere():
    assert {p.stem for p in FIXTURES.glob("*.eml")} == set(EXPECTED) | set(UNPARSED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_gives_exactly_its_events(name):
    reading = read(name)
    assert summary(reading) == EXPECTED[name]
    assert reading.unparsed_why is None
    for event in reading.events:
        assert event.source == "mailbox"
        assert event.key.startswith("mail:") and len(event.key) <= 200
        assert event.raw_ref == f"imaps://bounce.example.org/INBOX {reading.message_id}"
        assert "\n" not in event.detail and len(event.detail) <= 300


@pytest.mark.parametrize("name", sorted(UNPARSED))
def test_what_is_not_understood_waits_for_a_person(name):
    reading = read(name)
    assert reading.events == ()
    assert UNPARSED[name] in (reading.unparsed_why or "")
    assert reading.message_id and reading.sender


def test_the_mail_itself_is_described():
    reading = read("qq_mailbox_full")
    assert reading.message_id == "<tencent_5C2B1A0F@qq.com>"
    assert reading.subject == "退信：农村周报 第12期"
    assert reading.sender == "mailer-daemon@qq.com"


def test_details_and_times():
    gmail = read("gmail_user_unknown").events[0]
    assert gmail.detail.startswith("550 5.1.1 <huang.wei@example.com>: Recipient address rejected")
    assert gmail.at == datetime(2026, 12, 7, 11, 12, 46, tzinfo=UTC)  # its Last-Attempt-Date
    postfix = read("postfix_user_unknown").events[0]
    assert postfix.detail.endswith("User unknown in virtual mailbox table")  # folded lines joined
    assert postfix.at == datetime(2026, 12, 7, 3, 19, 58, tzinfo=UTC)  # its Arrival-Date
    qq = read("qq_mailbox_full").events[0]
    assert "空间已满" in qq.detail and qq.at == datetime(2026, 12, 7, 11, 40, 3, tzinfo=UTC)  # the mail's Date
    assert read("netease_126_no_address").events[0].detail == "退信原因：用户不存在，邮件无法投递。"


def test_complaints_name_the_subscriber_by_the_returned_token():
    for name in ("arf_generic", "arf_yahoo"):
        (event,) = read(name).events
        assert (event.subscriber_id, event.list_slug, event.detail) == (7, "rural-weekly", "abuse")
    jmrp = read("arf_jmrp").events[0]
    assert (jmrp.subscriber_id, jmrp.detail) == (None, "abuse")
    assert read("arf_generic").events[0].at == datetime(2026, 12, 7, 23, 58, 10, tzinfo=UTC)


def test_keys_are_stable_across_reads_and_distinct_across_recipients():
    first, again = read("postfix_two_recipients"), read("postfix_two_recipients")
    keys = [e.key for e in first.events]
    assert keys == [e.key for e in again.events]
    assert len(set(keys)) == 2
    every_key = [e.key for name in EXPECTED for e in read(name).events]
    assert len(every_key) == len(set(every_key))


def test_keys_follow_the_message_id_else_the_bytes():
    raw = fixture("postfix_user_unknown")
    # The same bounce delivered twice (another Received line) is the same event.
    twice = b"Received: from another.hop.example by mx; Mon, 7 Dec 2026 11:21:00 +0800\n" + raw
    assert read_mail(raw, secrets=[SECRET]).events[0].key == read_mail(twice, secrets=[SECRET]).events[0].key
    without_id = raw.replace(b"Message-Id: <20261207032001.7A1C20B4F1@relay.example.org>\n", b"")
    one, other = read_mail(without_id, secrets=[SECRET]), read_mail(without_id + b"\n", secrets=[SECRET])
    assert one.message_id == "" and one.events[0].raw_ref.startswith("sha256:")
    assert one.events[0].key == read_mail(without_id, secrets=[SECRET]).events[0].key
    assert one.events[0].key != other.events[0].key


def test_a_forged_or_foreign_return_path_names_no_delivery():
    altered = VERP.replace(VERP.split("-")[-1][:4], "0000" if not VERP.split("-")[-1].startswith("0000") else "1111")
    for verp in (FORGED_VERP, altered, return_path(SECRET, DOMAIN, 42).replace("d42", "d41")):
        reading = read("postfix_user_unknown", VERP=verp)
        assert summary(reading) == [(HARD, "gao.yan@example.net", "5.1.1", None)]
    # A bounce naming nobody is kept for a person rather than trusted on a forged name.
    reading = read("netease_126_no_address", VERP=FORGED_VERP)
    assert reading.events == () and "no valid return path" in (reading.unparsed_why or "")


def test_return_paths_signed_before_a_key_rotation_still_count():
    old_verp = return_path(OLD_SECRET, DOMAIN, 41)
    assert summary(read("exim_text", secrets=(OLD_SECRET, SECRET), VERP=old_verp))[0][3] == 41
    assert summary(read("exim_text", secrets=(SECRET,), VERP=old_verp))[0][3] is None
    assert summary(read("exim_text", secrets=(), VERP=VERP))[0][3] is None


def test_a_form_mail_bounce_names_the_subscriber():
    form_verp = return_path(SECRET, DOMAIN, 7, kind="f")
    (event,) = read("postfix_user_unknown", VERP=form_verp).events
    assert (event.delivery_id, event.subscriber_id) == (None, 7)


def test_an_auto_reply_is_never_a_bounce():
    for name in AUTO_REPLIES:
        kinds = {e.kind for e in read(name).events}
        assert kinds == {AUTO}, name
    # Even with bounce words in its body and RFC 3834's mark, a vacation reply stays one.
    raw = fixture("vacation_rfc3834").replace(b"I am away", b"550 5.1.1 user unknown. I am away")
    assert [e.kind for e in read_mail(raw, secrets=[SECRET]).events] == [AUTO]


def test_unsubscribe_mail_names_the_subscriber_and_list():
    (event,) = read("unsubscribe").events
    assert (event.subscriber_id, event.list_slug, event.delivery_id) == (7, "rural-weekly", None)


@pytest.mark.parametrize(
    "subject",
    [
        f"Re: unsubscribe {TOKEN}",
        f"回复：unsubscribe {TOKEN}",
        f"UNSUBSCRIBE {TOKEN}",
        f"unsubscribe%20{TOKEN}",
        "=?utf-8?b?" + base64.b64encode(f"unsubscribe {TOKEN}".encode()).decode() + "?=",
        "Re: =?utf-8?q?unsubscribe?= " + TOKEN,
    ],
)
def test_unsubscribe_subjects_as_mail_programs_write_them(subject):
    assert summary(read("unsubscribe", SUBJECT=subject)) == [(UNSUBSCRIBE, "zhang.san@example.com", "", None)]


@pytest.mark.parametrize(
    "token",
    [
        sign_token(SECRET, "view", 7, "rural-weekly"),  # another purpose
        sign_token(SECRET, "preferences", 7, "rural-weekly"),
        sign_token("another-site-secret-0123456789", "unsubscribe", 7, "rural-weekly"),  # forged
        TOKEN[:-3] + ("AAA" if not TOKEN.endswith("AAA") else "BBB"),  # altered
        "not-a-token",
    ],
)
def test_an_unsubscribe_with_an_invalid_token_is_refused(token):
    reading = read("unsubscribe", SUBJECT=f"unsubscribe {token}")
    assert reading.events == ()
    assert reading.unparsed_why == "unsubscribe mail with an invalid token"


def test_an_unsubscribe_with_no_token_waits_for_a_person():
    reading = read("unsubscribe", SUBJECT="unsubscribe")
    assert reading.events == () and reading.unparsed_why == "unsubscribe mail with no token"
    assert read("unsubscribe", secrets=()).unparsed_why == "unsubscribe mail with an invalid token"


def test_crlf_line_endings_read_the_same():
    for name in ("postfix_two_recipients", "qq_mailbox_full", "arf_generic", "exim_text"):
        crlf = fixture(name).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        assert summary(read_mail(crlf, secrets=[SECRET])) == EXPECTED[name]


def test_a_transfer_encoded_delivery_status_is_read():
    raw = fixture("forged_verp_dsn", FORGED_VERP=VERP)
    head, rest = raw.split(b"Content-Type: message/delivery-status\n\n", 1)
    fields, tail = rest.split(b"\n--F0\n", 1)
    encoded = base64.encodebytes(fields.replace(b"\n", b"\r\n"))
    raw = head + b"Content-Type: message/delivery-status\nContent-Transfer-Encoding: base64\n\n"
    raw += encoded + b"\n--F0\n" + tail
    assert summary(read_mail(raw, secrets=[SECRET])) == [(HARD, "victim@example.net", "5.1.1", 41)]


def test_a_report_naming_nobody_is_kept_for_a_person():
    raw = fixture("forged_verp_dsn").replace(b"Final-Recipient: rfc822; victim@example.net\n", b"")
    reading = read_mail(raw, secrets=[SECRET])
    assert reading.events == () and "naming no recipient" in (reading.unparsed_why or "")


@pytest.mark.parametrize(
    "raw", [b"", b"\x00\xff\xfe garbage", b"Subject: =?bogus?x?zz?=\n\nhi", b"Content-Type: multipart/report\n\n--"]
)
def test_anything_at_all_is_read_without_raising(raw):
    reading = read_mail(raw, secrets=[SECRET])
    assert reading.events == () and reading.unparsed_why


BIG_BODY = "".join(f"<p>County {i}: 5.{i % 9}.1 million yuan for roads, 550 new wells.</p>\n" for i in range(3000))


@pytest.mark.parametrize("name", ["gmail_user_unknown", "postfix_mailbox_full", "qq_mailbox_full", "arf_generic"])
def test_a_large_returned_original_changes_nothing(name):
    raw = fixture(name).replace(b"This week in the counties: ...", BIG_BODY.encode())
    assert len(raw) > 150_000
    assert summary(read_mail(raw, secrets=[SECRET])) == EXPECTED[name]


def test_a_report_with_its_original_before_its_status_part_is_read():
    raw = fixture("gmail_user_unknown").replace(b"This week in the counties: ...", BIG_BODY[:40_000].encode())
    # Only the status part says 5.1.1 now: the notice and the headers no longer do.
    raw = raw.replace(b"X-Failed-Recipients: huang.wei@example.com\n", b"")
    raw = raw.replace(b"\n550 5.1.1 <huang.wei@example.com>: Recipient address rejected: User unknown\n", b"\n")
    raw = raw.replace(b"<p>550 5.1.1 &lt;huang.wei@example.com&gt;: Recipient address rejected: User unknown</p>", b"")
    boundary = b"--000000000000a1b2c3d4e5f60718"
    preamble, notice, status, original = raw.split(boundary + b"\n")
    original = original.split(boundary + b"--")[0]
    raw = boundary.join([preamble, b"\n" + notice, b"\n" + original, b"\n" + status, b"--\n"])
    assert raw.index(b"message/rfc822") < raw.index(b"message/delivery-status") - 40_000
    assert summary(read_mail(raw, secrets=[SECRET])) == EXPECTED["gmail_user_unknown"]


def test_raw_8bit_headers_and_a_missing_from_reach_flufl_bounce_as_text(caplog):
    raw = fixture("netease_user_unknown")  # no flufl.bounce detector knows it: they all run
    eight_bit = b"From: \xe7\xbd\x91\xe6\x98\x93 <postmaster@163.com>\n" + raw.split(b"\n", 1)[1]
    without_from = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"From: "))
    assert raw.startswith(b"Return-Path: <>\nFrom: ") and b"From:" not in without_from
    with caplog.at_level("DEBUG", logger="flufl.bounce"):
        for variant in (eight_bit, without_from):
            assert summary(read_mail(variant, secrets=[SECRET])) == EXPECTED["netease_user_unknown"]
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []


def test_addresses_of_ours_are_never_the_bounced_ones():
    def bounce(named: str) -> bytes:
        lines = ["From: postmaster@mx.example.net", "To: news@example.org", "Subject: Undeliverable mail", ""]
        lines += [f"Recipient: {FORGED_VERP}", f"Recipient: {named}", "Reason: 550 5.1.1 user unknown", ""]
        return "\n".join(lines).encode()

    assert summary(read_mail(bounce("wu.reader@example.com"), secrets=[SECRET])) == [
        (HARD, "wu.reader@example.com", "5.1.1", None)
    ]
    # The address it was delivered to and a return path are ours: nobody of ours bounced by its word.
    reading = read_mail(bounce("news@example.org"), secrets=[SECRET])
    assert reading.events == ()
    assert reading.unparsed_why == "a bounce naming no recipient and carrying no valid return path"


@pytest.mark.parametrize(
    ("feedback_type", "why"),
    [
        ("fraud", None),
        ("not-spam", None),
        ("virus", "a feedback report of type 'virus', not a complaint"),
        ("other", "a feedback report of type 'other', not a complaint"),
    ],
)
def test_only_a_persons_spam_or_fraud_report_is_a_complaint(feedback_type, why):
    raw = fixture("arf_generic").replace(b"Feedback-Type: abuse", f"Feedback-Type: {feedback_type}".encode())
    reading = read_mail(raw, secrets=[SECRET])
    assert reading.unparsed_why == why
    assert [(e.kind, e.detail) for e in reading.events] == ([(COMPLAINT, "fraud")] if feedback_type == "fraud" else [])


def test_a_dsn_naming_no_recipient_is_still_a_bounce_of_its_delivery():
    raw = fixture("forged_verp_dsn", FORGED_VERP=VERP).replace(b"Final-Recipient: rfc822; victim@example.net\n", b"")
    raw = raw.replace(b"To: victim@example.net\n", b"")
    assert summary(read_mail(raw, secrets=[SECRET])) == [(HARD, None, "5.1.1", 41)]


def test_recipient_fields_with_comments_and_brackets():
    raw = fixture("forged_verp_dsn").replace(
        b"Final-Recipient: rfc822; victim@example.net", b"Final-Recipient: RFC822; <Victim@Example.NET> (the victim)"
    )
    assert summary(read_mail(raw, secrets=[SECRET])) == [(HARD, "victim@example.net", "5.1.1", None)]


def test_a_read_receipt_is_an_auto_reply():
    lines = [
        "From: Reader Wu <wu.reader@example.com>",
        f"To: {VERP}",
        "Subject: Read: Rural weekly, issue 12",
        "Message-ID: <mdn-1@example.com>",
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="M"',
        "",
        "--M",
        "Content-Type: text/plain",
        "",
        "Your message was displayed.",
        "--M",
        "Content-Type: message/disposition-notification",
        "",
        "Final-Recipient: rfc822; wu.reader@example.com",
        "Disposition: manual-action/MDN-sent-manually; displayed",
        "--M--",
        "",
    ]
    reading = read_mail("\n".join(lines).encode(), secrets=[SECRET])
    assert summary(reading) == [(AUTO, "wu.reader@example.com", "", 41)]
    assert reading.events[0].detail == "read receipt: Read: Rural weekly, issue 12"
