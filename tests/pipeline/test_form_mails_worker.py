"""With a broker, the public form's confirmation is sent by a real `celery worker`, not in the request:
the web app records it, asks for a send a moment later, and the worker delivers it to a real SMTP server
(no beat runs here, so no tick does it instead)."""

from __future__ import annotations

import dataclasses
import email
import re
from email import policy

from fixtures_db import make_settings
from sqlalchemy import func, select
from starlette.testclient import TestClient
from test_celery_workers import redis_url as redis_url  # fixture: a flushed Redis database
from test_celery_workers import start_worker, stop, wait_until

from digest.adapters.broker import CeleryBroker
from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list
from digest.services.runtime import Runtime
from digest.web import create_app


def _waiting(url: str) -> int:
    with transaction(url) as session:
        return session.scalar(select(func.count()).select_from(models.FormMail)) or 0


def test_a_worker_sends_the_confirmation_the_request_recorded(database_url, redis_url, smtp_server, tmp_path):
    with transaction(database_url) as session:
        ensure_default_list(session).sender_email = "weekly@digest.example.org"
    settings = dataclasses.replace(
        make_settings(database_url, tmp_path, smtp_url=smtp_server.url), broker_url=redis_url
    )
    runtime = Runtime(settings, broker=CeleryBroker.connect(redis_url))
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path)
    try:
        with TestClient(create_app(runtime)) as client:
            page = client.get("/lists/rural-weekly/subscribe").text
            token = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
            form = {"email": "new.reader@example.cn", "region": "430000", "csrf_token": token}
            answer = client.post("/lists/rural-weekly/subscribe", data=form)
            assert answer.status_code == 200
            assert smtp_server.messages == []  # the request did not send it
            wait_until(lambda: len(smtp_server.messages) == 1, 30, "the worker's confirmation")
        (received,) = smtp_server.messages
        assert received.rcpt_tos == ["new.reader@example.cn"]
        text = email.message_from_bytes(received.data, policy=policy.default).get_body(("plain",)).get_content()
        assert "https://digest.example.org/confirm/" in text
        wait_until(lambda: _waiting(database_url) == 0, 10, "the sent mail's row to go")
    finally:
        stop(worker)
