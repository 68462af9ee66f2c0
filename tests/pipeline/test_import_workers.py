"""A subscriber import started in the console runs in a real `celery worker` process, through a real Redis broker."""

from __future__ import annotations

import dataclasses
import re

from fastapi.testclient import TestClient
from fixtures_db import make_settings
from sqlalchemy import func, select
from test_celery_workers import redis_url as redis_url  # fixture: a flushed Redis database
from test_celery_workers import start_worker, stop, wait_until

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.admins import create_admin, start_session
from digest.services.lists import ensure_default_list
from digest.web import create_app
from digest.web.security import ADMIN_COOKIE

IMPORT = "/admin/subscribers/import"
ROWS = 7000  # two chunks of 5,000


def _signed_in_client(url: str, settings) -> TestClient:
    with transaction(url) as session:
        ensure_default_list(session)
        cookie = start_session(session, create_admin(session, "import.admin@example.org", "a long passphrase 42"))
    client = TestClient(create_app(settings))
    client.cookies.set(ADMIN_COOKIE, cookie)
    return client


def test_a_console_import_runs_in_a_worker_and_its_page_follows_it(database_url, redis_url, smtp_server, tmp_path):
    settings = dataclasses.replace(make_settings(database_url, tmp_path), broker_url=redis_url)
    rows = "".join(f"w{i:05d}@example.org,读者{i},湖南\n" for i in range(ROWS)) + "not-an-address,坏,湖南\n"
    worker = start_worker(database_url, smtp_server.url, redis_url, tmp_path, concurrency=1)
    try:
        with _signed_in_client(database_url, settings) as client:
            form = client.get(IMPORT).text
            token = re.search(r'action="/admin/subscribers/import".*?name="csrf_token" value="([^"]+)"', form, re.S)
            posted = client.post(
                IMPORT,
                data={"csrf_token": token.group(1), "confirmed": "1"},
                files={"file": ("people.csv", ("email,name,regions\n" + rows).encode(), "text/csv")},
                follow_redirects=False,
            )
            assert posted.status_code == 303
            page_url = posted.headers["location"]
            first = client.get(page_url).text  # the worker may or may not have started: whatever it shows is true
            assert re.search(r'data-status="(queued|running|done)"', first)
            wait_until(lambda: 'data-status="done"' in client.get(page_url).text, 120, "the worker to import")
            done = client.get(page_url).text
    finally:
        stop(worker)
    assert f'id="count-added">{ROWS}<' in done and 'id="count-rejected">1<' in done
    assert re.search(rf'<tr class="subs-problem error" data-line="{ROWS + 2}">', done)
    assert 'http-equiv="refresh"' not in done
    with transaction(database_url) as session:
        stored = session.scalar(select(func.count()).select_from(models.Subscription))
        job = session.scalars(select(models.SubscriberImport)).one()
        assert (stored, job.status, job.rows_done, job.rows_total) == (ROWS, "done", ROWS + 1, ROWS + 1)
