"""The worker's feed tasks, in-process (no DIGEST_BROKER_URL: a queued task runs at once): the beat's
`digest.poll_sources` queues a `digest.poll_source` for each due source, and each stores its feed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from feedserver import Route, feed_server, rss
from sqlalchemy import select

from digest import worker
from digest.adapters.broker import POLL_SOURCE, POLL_SOURCES
from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list

pytestmark = pytest.mark.clock
NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_the_beat_polls_sources_every_minute():
    schedule = worker.app.conf.beat_schedule["poll-sources"]
    assert (schedule["task"], schedule["schedule"]) == (POLL_SOURCES, 60.0)
    assert {POLL_SOURCES, POLL_SOURCE} <= set(worker.app.tasks)


def test_poll_sources_polls_each_due_source_once(database_url, tmp_path, monkeypatch):
    for name, value in {
        "DIGEST_DATABASE_URL": database_url,
        "DIGEST_SECRET_KEY": "test-secret-key-0123456789abcdef",
        "DIGEST_NOW": NOW.isoformat(),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DIGEST_BROKER_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert worker.app.conf.task_always_eager
    with feed_server() as server:
        server.routes["/due.xml"] = Route(rss("三农新闻", [{"title": "怀化柑橘丰收", "guid": "1"}]))
        with transaction(database_url) as session:
            ml = ensure_default_list(session)
            common = {"list_id": ml.id, "topic_slug": "industry", "region_codes": ["430000"], "allow_private": True}
            session.add_all(
                [
                    models.Source(url=server.url("/due.xml"), next_poll_at=NOW - timedelta(minutes=1), **common),
                    models.Source(url=server.url("/later.xml"), next_poll_at=NOW + timedelta(minutes=1), **common),
                    models.Source(url=server.url("/paused.xml"), paused=True, **common),
                ]
            )
        worker.WorkerProcess.forget()
        try:
            first = worker.poll_sources.delay().get()
            second = worker.poll_sources.delay().get()
        finally:
            worker.WorkerProcess.forget()
        asked = server.paths()
    assert len(first) == 1 and second == []
    assert asked == ["/due.xml"]
    with transaction(database_url) as session:
        assert session.scalars(select(models.Article.title)).all() == ["怀化柑橘丰收"]
        source = session.get_one(models.Source, first[0])
        # DIGEST_NOW starts a clock that runs on from there.
        assert source.last_status == 200 and timedelta(minutes=60) <= source.next_poll_at - NOW < timedelta(minutes=61)
