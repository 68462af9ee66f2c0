"""The providers' readers as plain functions: signatures checked as each provider documents, events read."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from webhooksigning import (
    CERT_URL,
    LOOP,
    NOW,
    POSTMARK_SECRET,
    STAMP,
    SUBSCRIBE_URL,
    TOPIC,
    mailgun_body,
    postmark_auth,
    sendgrid_headers,
    ses_bounce,
    ses_notification,
    sns_certificate_pem,
    sns_message,
)

from digest.core.bounces.events import EventKind
from digest.core.bounces.verp import return_path
from digest.core.bounces.webhooks import WebhookRefused
from digest.core.bounces.webhooks.mailgun import read_mailgun
from digest.core.bounces.webhooks.postmark import read_postmark
from digest.core.bounces.webhooks.sendgrid import read_sendgrid
from digest.core.bounces.webhooks.ses import ses_events
from digest.core.bounces.webhooks.sns import allowed_sns_url, read_sns, verify_sns


def _body(value) -> bytes:
    return json.dumps(value).encode()


def _refused(call) -> WebhookRefused:
    with pytest.raises(WebhookRefused) as caught:
        call()
    return caught.value


# --- SNS ---


@pytest.mark.parametrize("version", ["1", "2"])
def test_an_sns_notification_signed_either_way_verifies(version):
    fields = ses_notification(ses_bounce("a@example.org"))
    fields = sns_message({k: v for k, v in fields.items() if k not in ("Signature", "SignatureVersion")}, version)
    message = read_sns({}, _body(fields), LOOP, NOW)
    verify_sns(message, sns_certificate_pem(), NOW)
    assert message.message_id == "msg-1" and message.signing_cert_url == CERT_URL


def test_a_subscription_confirmation_signs_its_subscribe_url_and_token():
    fields = sns_message(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "conf-1",
            "Token": "t0k3n",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe.\nVisit the SubscribeURL.",
            "SubscribeURL": SUBSCRIBE_URL,
            "Timestamp": "2026-03-02T08:30:00.000Z",
        }
    )
    message = read_sns({"x-amz-sns-message-type": "SubscriptionConfirmation"}, _body(fields), LOOP, NOW)
    verify_sns(message, sns_certificate_pem(), NOW)
    assert message.subscribe_url == SUBSCRIBE_URL
    altered = read_sns({}, _body({**fields, "Token": "other"}), LOOP, NOW)
    assert _refused(lambda: verify_sns(altered, sns_certificate_pem(), NOW)).status == 401


def test_a_changed_message_or_another_key_fails_the_signature():
    fields = ses_notification(ses_bounce("a@example.org"))
    changed = read_sns({}, _body({**fields, "Message": fields["Message"].replace("a@", "b@")}), LOOP, NOW)
    assert _refused(lambda: verify_sns(changed, sns_certificate_pem(), NOW)).code == "webhook_signature"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = {k: v for k, v in fields.items() if k not in ("Signature", "SignatureVersion")}
    message = read_sns({}, _body(sns_message(forged, key=other_key)), LOOP, NOW)
    assert _refused(lambda: verify_sns(message, sns_certificate_pem(), NOW)).status == 401


@pytest.mark.parametrize(
    "url",
    [
        "http://sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com/cert.txt",
        "https://user@sns.us-east-1.amazonaws.com/cert.pem",
        "https://sns.us-east-1.amazonaws.com:8443/cert.pem",
    ],
)
def test_a_certificate_url_off_the_allowlist_is_refused_before_any_fetch(url):
    fields = ses_notification(ses_bounce("a@example.org"), SigningCertURL=url)
    refused = _refused(lambda: read_sns({}, _body(fields), LOOP, NOW))
    assert (refused.status, refused.code) == (403, "webhook_cert")


def test_the_allowlist_takes_china_regions_by_default():
    assert allowed_sns_url("https://sns.cn-north-1.amazonaws.com.cn/x.pem", LOOP.sns_cert_hosts, pem=True)


def test_an_sns_message_of_another_topic_or_an_hour_old_is_refused():
    other = ses_notification(ses_bounce("a@example.org"), TopicArn="arn:aws:sns:us-east-1:999:other")
    assert _refused(lambda: read_sns({}, _body(other), LOOP, NOW)).code == "webhook_topic"
    old = ses_notification(ses_bounce("a@example.org"), at=NOW - timedelta(hours=1, minutes=1))
    assert _refused(lambda: read_sns({}, _body(old), LOOP, NOW)).code == "webhook_stale"


def test_ses_bounce_types_and_complaints_become_events():
    permanent = ses_events(json.dumps(ses_bounce("Gone@Example.org")), "m1")
    assert [(e.kind, e.email, e.status, e.key) for e in permanent] == [
        (EventKind.HARD_BOUNCE, "gone@example.org", "5.1.1", "ses:fb-1:gone@example.org")
    ]
    transient = ses_events(json.dumps(ses_bounce("full@example.org", "Transient", "4.2.2")), "m2")
    assert transient[0].kind == EventKind.SOFT_BOUNCE
    undetermined = ses_events(json.dumps(ses_bounce("x@example.org", "Undetermined", "5.0.0")), "m3")
    assert undetermined[0].kind == EventKind.HARD_BOUNCE
    complaint = {
        "eventType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "c@example.org"}], "complaintFeedbackType": "abuse"},
        "mail": {"messageId": "x", "commonHeaders": {"messageId": "<copy7@example.org>"}},
    }
    [event] = ses_events(json.dumps(complaint), "m4")
    assert (event.kind, event.detail, event.key, event.message_id) == (
        EventKind.COMPLAINT,
        "abuse",
        "ses:m4:c@example.org",
        "<copy7@example.org>",
    )
    assert ses_events(json.dumps({"notificationType": "Delivery", "delivery": {}}), "m5") == []
    assert ses_events("Successfully validated SNS topic for Amazon SES event publishing.", "m6") == []


def test_a_ses_bounce_of_a_verp_return_path_names_its_delivery():
    notification = ses_bounce("a@example.org")
    notification["mail"]["source"] = return_path("site-key", "bounce.example.org", 42)
    [event] = ses_events(json.dumps(notification), "m1", keys=("old-key", "site-key"))
    assert event.delivery_id == 42


# --- Mailgun ---


def _failed(severity: str, event_id: str = "ev-1") -> dict:
    return {
        "event": "failed",
        "id": event_id,
        "severity": severity,
        "recipient": "gone@example.org",
        "timestamp": STAMP,
        "reason": "bounce",
        "delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"},
        "message": {"headers": {"message-id": "copy1@example.org"}},
    }


def test_mailgun_failures_complaints_and_unsubscribes():
    hard = read_mailgun({}, _body(mailgun_body(_failed("permanent"), STAMP)), LOOP, NOW)
    [event] = hard.events
    assert (event.kind, event.status, event.key, event.message_id) == (
        EventKind.HARD_BOUNCE,
        "5.1.1",
        "mailgun:ev-1:gone@example.org",
        "copy1@example.org",
    )
    soft = read_mailgun({}, _body(mailgun_body(_failed("temporary"), STAMP)), LOOP, NOW)
    assert soft.events[0].kind == EventKind.SOFT_BOUNCE
    for name, kind in (("complained", EventKind.COMPLAINT), ("unsubscribed", EventKind.UNSUBSCRIBE)):
        data = {"event": name, "id": "ev-2", "recipient": "c@example.org", "timestamp": STAMP}
        assert [e.kind for e in read_mailgun({}, _body(mailgun_body(data, STAMP)), LOOP, NOW).events] == [kind]
    delivered = {"event": "delivered", "id": "ev-3", "recipient": "c@example.org", "timestamp": STAMP}
    assert read_mailgun({}, _body(mailgun_body(delivered, STAMP)), LOOP, NOW).events == []


def test_mailgun_refuses_a_wrong_key_and_an_old_timestamp():
    wrong = mailgun_body(_failed("permanent"), STAMP, key="another key")
    assert _refused(lambda: read_mailgun({}, _body(wrong), LOOP, NOW)).status == 401
    old = mailgun_body(_failed("permanent"), STAMP - 301)
    assert _refused(lambda: read_mailgun({}, _body(old), LOOP, NOW)).status == 403


# --- SendGrid ---


def _sendgrid(events: list[dict]) -> list:
    body = _body(events)
    return read_sendgrid(sendgrid_headers(body, STAMP), body, LOOP, NOW).events


def test_sendgrid_bounces_drops_and_spam_reports():
    base = {"email": "x@example.org", "timestamp": STAMP}
    events = _sendgrid(
        [
            {**base, "event": "bounce", "type": "bounce", "status": "5.1.1", "sg_event_id": "e1", "reason": "unknown"},
            {**base, "event": "bounce", "type": "blocked", "status": "5.7.1", "sg_event_id": "e2"},
            {**base, "event": "dropped", "reason": "Bounced Address", "sg_event_id": "e3"},
            {**base, "event": "dropped", "reason": "Spam Reporting Address", "sg_event_id": "e4"},
            {**base, "event": "dropped", "reason": "Spam Content (if spam checker app enabled)", "sg_event_id": "e5"},
            {**base, "event": "spamreport", "sg_event_id": "e6"},
            {**base, "event": "delivered", "sg_event_id": "e7"},
        ]
    )
    assert [(e.key, e.kind) for e in events] == [
        ("sendgrid:e1:x@example.org", EventKind.HARD_BOUNCE),
        ("sendgrid:e2:x@example.org", EventKind.SOFT_BOUNCE),
        ("sendgrid:e3:x@example.org", EventKind.HARD_BOUNCE),
        ("sendgrid:e4:x@example.org", EventKind.COMPLAINT),
        ("sendgrid:e6:x@example.org", EventKind.COMPLAINT),
    ]


def test_sendgrid_refuses_another_key_a_changed_body_and_an_old_timestamp():
    body = _body([{"email": "x@example.org", "event": "spamreport", "sg_event_id": "e1"}])
    other = ec.generate_private_key(ec.SECP256R1())
    assert _refused(lambda: read_sendgrid(sendgrid_headers(body, STAMP, other), body, LOOP, NOW)).status == 401
    changed = body.replace(b"x@", b"y@")
    assert _refused(lambda: read_sendgrid(sendgrid_headers(body, STAMP), changed, LOOP, NOW)).status == 401
    assert _refused(lambda: read_sendgrid(sendgrid_headers(body, STAMP - 600), body, LOOP, NOW)).status == 403
    assert _refused(lambda: read_sendgrid({}, body, LOOP, NOW)).status == 401


# --- Postmark ---


@pytest.mark.parametrize(
    ("bounce_type", "kind"),
    [
        ("HardBounce", EventKind.HARD_BOUNCE),
        ("BadEmailAddress", EventKind.HARD_BOUNCE),
        ("Transient", EventKind.SOFT_BOUNCE),
        ("DnsError", EventKind.SOFT_BOUNCE),
        ("SoftBounce", EventKind.SOFT_BOUNCE),
        ("AutoResponder", EventKind.AUTO_REPLY),
        ("VirusNotification", None),
    ],
)
def test_postmark_bounce_types(bounce_type, kind):
    record = {
        "RecordType": "Bounce",
        "ID": 42,
        "Type": bounce_type,
        "Email": "p@example.org",
        "Details": "smtp;550 5.1.1",
    }
    verified = read_postmark(postmark_auth(), _body(record), LOOP, NOW, url_secret=POSTMARK_SECRET)
    assert verified.nonce == "Bounce:42"
    assert [e.kind for e in verified.events] == ([kind] if kind else [])
    if kind:
        assert verified.events[0].key == "postmark:42:p@example.org"


def test_postmark_complaints_and_refusals():
    record = {"RecordType": "SpamComplaint", "ID": 7, "Type": "SpamComplaint", "Email": "p@example.org"}
    verified = read_postmark(postmark_auth(), _body(record), LOOP, NOW, url_secret=POSTMARK_SECRET)
    assert [e.kind for e in verified.events] == [EventKind.COMPLAINT]
    wrong_secret = _refused(lambda: read_postmark(postmark_auth(), _body(record), LOOP, NOW, url_secret="guess"))
    assert wrong_secret.status == 403 and POSTMARK_SECRET not in wrong_secret.reason
    wrong_auth = postmark_auth("postmark:wrong")
    assert (
        _refused(lambda: read_postmark(wrong_auth, _body(record), LOOP, NOW, url_secret=POSTMARK_SECRET)).status == 401
    )


def test_text_a_database_cannot_hold_is_cleaned_from_events():
    notification = ses_bounce("a@example.org")
    notification["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = "smtp; 550\u0000 5.1.1 \ud800 unknown"
    notification["bounce"]["feedbackId"] = "fb\u0000-9"
    [event] = ses_events(json.dumps(notification), "m1")
    assert "\x00" not in event.detail + event.key and event.detail.encode("utf-8")
    assert event.key == "ses:fb-9:a@example.org"
