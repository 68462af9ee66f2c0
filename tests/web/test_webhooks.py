"""The providers' webhooks through the app, on SQLite and PostgreSQL: a valid event applied once however often it
comes, a forged, stale or replayed one refused with 4xx and nothing stored, SNS's certificate host checked
before anything is fetched, a subscription confirmed once. The internet's edge is FakeInternet."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from sqlalchemy import func, select
from webhooksigning import (
    CERT_URL,
    LOOP,
    MAILGUN_KEY,
    NOW,
    POSTMARK_AUTH,
    POSTMARK_SECRET,
    STAMP,
    SUBSCRIBE_URL,
    TOPIC,
    FakeInternet,
    mailgun_body,
    postmark_auth,
    sendgrid_headers,
    ses_bounce,
    ses_notification,
    sns_certificate_pem,
    sns_message,
)

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.bounces.settings import LoopSettings
from digest.core.clock import FixedClock
from digest.services.lists import ensure_default_list
from digest.web import create_app

GONE = "gone@example.org"


@dataclass
class Hooks:
    url: str
    client: TestClient
    internet: FakeInternet

    def rows(self) -> list[tuple[str, str, str, str]]:
        with transaction(self.url) as session:
            e = models.MailEventRow
            return [tuple(r) for r in session.execute(select(e.key, e.kind, e.source, e.decision).order_by(e.id))]

    def suppressed(self) -> list[tuple[str, str]]:
        with transaction(self.url) as session:
            return [(s.email, s.kind) for s in session.scalars(select(models.Suppression))]

    def source(self, name: str) -> models.LoopSource | None:
        with transaction(self.url) as session:
            row = session.get(models.LoopSource, name)
            if row is not None:
                session.expunge(row)
            return row

    def nonces(self) -> int:
        with transaction(self.url) as session:
            return session.scalar(select(func.count()).select_from(models.WebhookNonce))


def _app(database_url: str, tmp_path, loop: LoopSettings, internet: FakeInternet) -> TestClient:
    settings = dataclasses.replace(make_settings(database_url, tmp_path), clock=FixedClock(NOW), loop=loop)
    return TestClient(create_app(settings, https_fetch=internet))


@pytest.fixture
def hooks(database_url, tmp_path):
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        person = models.Subscriber(email=GONE, name="Gone", created_at=NOW)
        session.add(person)
        session.flush()
        session.add(models.Subscription(list_id=ml.id, subscriber_id=person.id, status="confirmed", created_at=NOW))
    internet = FakeInternet({CERT_URL: sns_certificate_pem(), SUBSCRIBE_URL: b"<ConfirmSubscriptionResponse/>"})
    with _app(database_url, tmp_path, LOOP, internet) as client:
        yield Hooks(database_url, client, internet)


# One valid delivery of a hard bounce of GONE per provider: (path, body, headers).
Request = tuple[str, bytes, dict[str, str]]


def _ses(email: str = GONE, at_offset: int = 0, **extra: str) -> Request:
    from datetime import timedelta

    fields = ses_notification(ses_bounce(email), at=NOW + timedelta(seconds=at_offset), **extra)
    return "/webhooks/ses", json.dumps(fields).encode(), {"x-amz-sns-message-type": "Notification"}


def _mailgun(email: str = GONE, stamp: int = STAMP, key: str = MAILGUN_KEY) -> Request:
    data = {
        "event": "failed",
        "id": "mg-ev-1",
        "severity": "permanent",
        "recipient": email,
        "timestamp": stamp,
        "delivery-status": {"code": 550, "message": "5.1.1 no such user"},
    }
    return "/webhooks/mailgun", json.dumps(mailgun_body(data, stamp, key=key)).encode(), {}


def _sendgrid(email: str = GONE, stamp: int = STAMP) -> Request:
    events = [{"email": email, "event": "bounce", "type": "bounce", "status": "5.1.1", "sg_event_id": "sg-1"}]
    body = json.dumps(events).encode()
    return "/webhooks/sendgrid", body, sendgrid_headers(body, stamp)


def _postmark(email: str = GONE, secret: str = POSTMARK_SECRET, auth: str = POSTMARK_AUTH) -> Request:
    record = {"RecordType": "Bounce", "ID": 4242, "Type": "HardBounce", "Email": email, "Details": "550 5.1.1"}
    return f"/webhooks/postmark/{secret}", json.dumps(record).encode(), postmark_auth(auth)


VALID: dict[str, Callable[[], Request]] = {
    "ses": _ses,
    "mailgun": _mailgun,
    "sendgrid": _sendgrid,
    "postmark": _postmark,
}
KEYS = {
    "ses": f"ses:fb-1:{GONE}",
    "mailgun": f"mailgun:mg-ev-1:{GONE}",
    "sendgrid": f"sendgrid:sg-1:{GONE}",
    "postmark": f"postmark:4242:{GONE}",
}


def _post(hooks: Hooks, request: Request):
    path, body, headers = request
    return hooks.client.post(path, content=body, headers={"Content-Type": "application/json", **headers})


@pytest.mark.parametrize("provider", list(VALID))
def test_a_valid_event_delivered_three_times_is_applied_once(hooks, provider):
    request = VALID[provider]()
    answers = [_post(hooks, request) for _ in range(3)]
    assert [(a.status_code, a.json()) for a in answers] == [
        (200, {"accepted": 1}),
        (200, {"accepted": 0}),
        (200, {"accepted": 0}),
    ]
    assert hooks.rows() == [(KEYS[provider], "hard_bounce", provider, "suppressed")]
    assert hooks.suppressed() == [(GONE, "hard_bounce")]
    source = hooks.source(provider)
    assert source is not None and source.last_ok_at is not None and source.counts["events"] == 1


def _forged(provider: str) -> Request:
    if provider == "ses":
        path, body, headers = _ses()
        fields = json.loads(body)
        fields["Message"] = fields["Message"].replace(GONE, "someone@example.org")
        return path, json.dumps(fields).encode(), headers
    if provider == "mailgun":
        return _mailgun(key="a guessed key")
    if provider == "sendgrid":
        path, body, headers = _sendgrid()
        return path, body.replace(GONE.encode(), b"someone@example.org"), headers
    return _postmark(auth="postmark:guessed")


@pytest.mark.parametrize("provider", list(VALID))
def test_a_forged_event_is_refused_and_stores_nothing(hooks, provider):
    answer = _post(hooks, _forged(provider))
    assert answer.status_code == 401, answer.text
    assert answer.json()["code"] in ("webhook_signature", "webhook_credentials")
    assert POSTMARK_AUTH.split(":")[1] not in answer.text and MAILGUN_KEY not in answer.text
    assert hooks.rows() == [] and hooks.suppressed() == [] and hooks.nonces() == 0
    source = hooks.source(provider)
    assert source is not None and source.counts == {"refused": 1} and source.last_error


@pytest.mark.parametrize("provider", ["ses", "mailgun", "sendgrid"])
def test_a_stale_event_is_refused_as_a_replay(hooks, provider):
    stale = {
        "ses": lambda: _ses(at_offset=-3601),
        "mailgun": lambda: _mailgun(stamp=STAMP - 301),
        "sendgrid": lambda: _sendgrid(stamp=STAMP - 301),
    }[provider]()
    answer = _post(hooks, stale)
    assert (answer.status_code, answer.json()["code"]) == (403, "webhook_stale")
    assert hooks.rows() == [] and hooks.nonces() == 0


def _same_nonce_other_body(provider: str) -> Request:
    """What an attacker can make of a captured request without any key."""
    path, body, headers = VALID[provider]()
    fields = json.loads(body)
    if provider == "ses":  # an unsigned field changed: the signature still holds, the body is another
        fields["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1"
    elif provider == "mailgun":  # Mailgun signs timestamp and token only: the event is swapped under them
        fields["event-data"]["recipient"] = "victim@example.org"
        fields["event-data"]["id"] = "mg-ev-2"
    elif provider == "postmark":
        fields["Email"] = "victim@example.org"
    return path, json.dumps(fields).encode(), headers


@pytest.mark.parametrize("provider", ["ses", "mailgun", "postmark"])
def test_the_same_nonce_with_another_body_is_refused(hooks, provider):
    assert _post(hooks, VALID[provider]()).status_code == 200
    answer = _post(hooks, _same_nonce_other_body(provider))
    assert (answer.status_code, answer.json()["code"]) == (403, "webhook_replay")
    assert hooks.rows() == [(KEYS[provider], "hard_bounce", provider, "suppressed")]
    assert hooks.source(provider).counts == {"requests": 1, "events": 1, "refused": 1}


def test_an_sns_certificate_off_the_allowlist_is_never_fetched(hooks):
    answer = _post(hooks, _ses(SigningCertURL="https://evil.example/SimpleNotificationService-x.pem"))
    assert (answer.status_code, answer.json()["code"]) == (403, "webhook_cert")
    assert hooks.internet.calls == [] and hooks.rows() == []


def test_an_sns_certificate_is_fetched_once_for_many_messages(hooks):
    for n in range(3):
        path, body, headers = _ses()
        fields = json.loads(body)
        fields.update(MessageId=f"msg-{n}")
        fields = sns_message({k: v for k, v in fields.items() if k not in ("Signature", "SignatureVersion")})
        assert _post(hooks, (path, json.dumps(fields).encode(), headers)).status_code == 200
    assert hooks.internet.calls == [CERT_URL]


def test_an_sns_subscription_is_confirmed_once(hooks):
    fields = sns_message(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "conf-1",
            "Token": "t0k3n",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic.",
            "SubscribeURL": SUBSCRIBE_URL,
            "Timestamp": "2026-03-02T08:59:00.000Z",
        }
    )
    request = ("/webhooks/ses", json.dumps(fields).encode(), {"x-amz-sns-message-type": "SubscriptionConfirmation"})
    answers = [_post(hooks, request) for _ in range(2)]
    assert [(a.status_code, a.json()) for a in answers] == [(200, {"accepted": 0})] * 2
    assert hooks.internet.calls == [CERT_URL, SUBSCRIBE_URL]
    assert hooks.rows() == []


def test_a_confirmation_that_cannot_be_fetched_is_answered_503_and_tried_again(hooks):
    fields = sns_message(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "conf-2",
            "Token": "t",
            "TopicArn": TOPIC,
            "Message": "m",
            "SubscribeURL": SUBSCRIBE_URL + "-unknown",
            "Timestamp": "2026-03-02T08:59:00.000Z",
        }
    )
    request = ("/webhooks/ses", json.dumps(fields).encode(), {})
    assert _post(hooks, request).status_code == 503
    hooks.internet.pages[SUBSCRIBE_URL + "-unknown"] = b"ok"
    assert _post(hooks, request).status_code == 200
    assert hooks.internet.calls.count(SUBSCRIBE_URL + "-unknown") == 2


def test_postmark_with_a_wrong_url_secret_is_refused(hooks):
    answer = _post(hooks, _postmark(secret="not-the-secret"))
    assert (answer.status_code, answer.json()["code"]) == (403, "webhook_secret")
    assert POSTMARK_SECRET not in answer.text and hooks.rows() == []


def test_providers_not_configured_answer_404(database_url, tmp_path):
    internet = FakeInternet({CERT_URL: sns_certificate_pem()})
    with _app(database_url, tmp_path, LoopSettings(), internet) as client:
        for request in (_ses(), _mailgun(), _sendgrid(), _postmark()):
            path, body, headers = request
            answer = client.post(path, content=body, headers=headers)
            assert (answer.status_code, answer.json()["code"]) == (404, "webhook_not_configured"), path
    assert internet.calls == []


class HandedOut:
    """A broker that keeps what it is handed: with one, the web process applies nothing itself."""

    def __init__(self) -> None:
        self.mail_events: list[list[int]] = []

    def apply_mail_events(self, event_ids: list[int]) -> None:
        self.mail_events.append(event_ids)


def test_with_a_broker_the_events_wait_for_the_workers_task(database_url, tmp_path):
    from digest.services.runtime import Runtime
    from digest.services.webhook_intake import apply_recorded

    settings = dataclasses.replace(make_settings(database_url, tmp_path), clock=FixedClock(NOW), loop=LOOP)
    broker = HandedOut()
    runtime = Runtime(settings, broker=broker)  # type: ignore[arg-type]
    with TestClient(create_app(runtime, https_fetch=FakeInternet({}))) as client:
        hooks = Hooks(database_url, client, FakeInternet({}))
        assert _post(hooks, _postmark(email="nobody@example.org")).json() == {"accepted": 1}
        assert hooks.rows() == [("postmark:4242:nobody@example.org", "hard_bounce", "postmark", "pending")]
        [ids] = broker.mail_events
        assert apply_recorded(runtime, ids) == {"suppressed": 1}  # what the worker's task runs
        assert hooks.rows()[0][3] == "suppressed"
