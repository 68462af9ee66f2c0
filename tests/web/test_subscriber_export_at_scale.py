"""The subscriber export past PostgreSQL's 65,535 parameters: every row comes out, streamed, filters and all."""

from __future__ import annotations

import csv
import dataclasses
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from fixtures_db import make_settings
from personas import ZHOU_ADMIN
from sqlalchemy import insert, select
from webutil import SITE_NOW, add_staff, seed, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.core.clock import FixedClock
from digest.services.lists import ensure_default_list
from digest.services.picks import store_list_picks
from digest.web import create_app

READERS = 66_000  # one more parameter each than PostgreSQL takes in one statement, had they been listed


def _many_readers(url: str) -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        session.execute(
            insert(models.Subscriber),
            [{"email": f"reader{i:05d}@example.org", "name": f"读者{i}", "created_at": now} for i in range(READERS)],
        )
        ids = session.scalars(select(models.Subscriber.id).order_by(models.Subscriber.id)).all()
        session.execute(
            insert(models.Subscription),
            [
                {
                    "list_id": ml.id,
                    "subscriber_id": sid,
                    "status": "confirmed",
                    # Every third reader picked 湖南; the others 全国.
                    "region_codes": ["430000"] if n % 3 == 0 else ["000000"],
                    "topic_slugs": [],
                    "created_at": now,
                }
                for n, sid in enumerate(ids)
            ],
        )
        store_list_picks(session, ml.id)  # what a bulk writer owes the picks' index


def test_the_export_of_a_list_larger_than_one_statement_takes_streams_every_row(postgres_url, tmp_path):
    from fixtures_db import _empty_postgres

    _empty_postgres(postgres_url)
    seed(postgres_url)
    _many_readers(postgres_url)
    add_staff(postgres_url, ZHOU_ADMIN)
    settings = dataclasses.replace(make_settings(postgres_url, tmp_path), clock=FixedClock(SITE_NOW))
    with TestClient(create_app(settings)) as client:
        sign_in(client, ZHOU_ADMIN)
        whole = client.get("/admin/subscribers/export.csv", params={"list": "rural-weekly"})
        assert whole.status_code == 200, whole.text[:300]
        rows = list(csv.reader(io.StringIO(whole.text.removeprefix("\ufeff"))))
        assert len(rows) == READERS + 1 and rows[0][0] == "email"
        assert {r[0] for r in rows[1:]} == {f"reader{i:05d}@example.org" for i in range(READERS)}
        hunan = client.get("/admin/subscribers/export.csv", params={"list": "rural-weekly", "region": "怀化"})
        assert hunan.status_code == 200
        picked = list(csv.reader(io.StringIO(hunan.text.removeprefix("\ufeff"))))[1:]
        # 怀化 lies in 湖南: the readers of 湖南 match; 全国 is not the parent of the provinces.
        assert len(picked) == READERS // 3 and all(r[3] == "湖南" for r in picked)
