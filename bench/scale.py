"""Admin pages, API calls, exports and planning at N subscribers on PostgreSQL: the standing scale check.

    python -m bench.scale --subscribers 100000

Seeds a fresh database (`digest_scale`, or `--database NAME`) with the demo week and N confirmed subscribers
(COPY), whose picks spread over the provinces, 全国 and the topics. Then times, each as
the median of 5 requests through the real app (in process, no network): the dashboard (as a
process keeps its figures, and counted afresh, the median of 3),
the subscribers page plain, filtered by region and by topic, and its deepest page (by its
cursor); the same list through the API; the text searches (`searches`: one address, and terms matching
the oldest tenth or everyone); the same list through the API; an issue's delivery log, first and deepest page, in the
console and the API; the CSV export to its first bytes and to its end. Also: planning
the issue (the ledger's rows for everyone), a second send of the planned week, and
`digest issues show` to its last line, with the peak memory of each. The last line is
one JSON object. The target the issue set: every page and call under 300 ms at 1M.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from bench.render import subscriber_picks
from bench.send import DEMO, PERIOD_END, SECRET, fresh_database
from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, transaction
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.core.settings import Settings
from digest.services.admins import create_admin
from digest.services.articles import NEWSROOM_TZ
from digest.services.delivery.handout import hand_out
from digest.services.enqueue import enqueue_deliveries
from digest.services.issues import plan_issue, start_issue
from digest.services.lists import ensure_default_list
from digest.services.picks import store_list_picks
from digest.services.runtime import Runtime
from digest.web import create_app

ADMIN = ("scale.admin@example.org", "scale-admin-passphrase")
LIST = "rural-weekly"


def seed(url: str, subscribers: int) -> None:
    """The demo week, and `subscribers` readers written with COPY (an import of that size would take minutes)."""
    from digest.services.articles import store_articles

    regions = load_regions()
    published = datetime(2026, 11, 26, 9, tzinfo=NEWSROOM_TZ)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        ml.sender_email = "weekly@scale.example.org"
        ml.schedule_enabled = False
        store_articles(session, ml, parse_file(DEMO), regions, source=str(DEMO), published=published)
        create_admin(session, ADMIN[0], ADMIN[1], "admin")
        list_id = ml.id
    picks = subscriber_picks(subscribers, regions, seed=13)
    now = datetime.now(UTC)
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)  # the engines here run on psycopg
        with raw.cursor() as cursor:
            with cursor.copy("COPY subscribers (email, name, locale, time_zone, created_at) FROM STDIN") as copy:
                for i in range(subscribers):
                    copy.write_row((f"reader{i:07d}@scale.example.org", f"读者{i}", "zh-CN", "Asia/Shanghai", now))
            cursor.execute("SELECT id FROM subscribers ORDER BY id")
            ids = [row[0] for row in cursor.fetchall()]
            columns = "list_id, subscriber_id, status, region_codes, topic_slugs, created_at, confirmed_at"
            with cursor.copy(f"COPY subscriptions ({columns}) FROM STDIN") as copy:
                for sid, pick in zip(ids, picks, strict=True):
                    regions_json, topics_json = json.dumps(sorted(pick.regions)), json.dumps(sorted(pick.topics))
                    copy.write_row((list_id, sid, "confirmed", regions_json, topics_json, now, now))
            with cursor.copy("COPY suppressions (email, reason, created_at) FROM STDIN") as copy:
                for i in range(0, subscribers, 100):  # one reader in a hundred bounced once
                    copy.write_row((f"reader{i:07d}@scale.example.org", f"bounce {i % 7}: mailbox unavailable", now))
    engine.dispose()
    with transaction(url) as session:
        store_list_picks(session, list_id)  # what the import does a chunk at a time
    engine = make_engine(url, pooled=False)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # as autovacuum would have, long before anyone looks
    engine.dispose()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def median_ms(call: Callable[[], object], times: int = 5) -> float:
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return statistics.median(spent)


def plan(url: str) -> tuple[int, float, float]:
    """Plans and starts the week's issue: its id, the seconds it took, and a second send's seconds."""
    with transaction(url) as session:
        ml = ensure_default_list(session)
        started = time.perf_counter()
        issue = plan_issue(session, ml, PERIOD_END)
        start_issue(session, issue)
        issue_id = issue.id
    planned = time.perf_counter() - started
    with transaction(url) as session:
        started = time.perf_counter()
        again_issue = cast(models.Issue, session.get(models.Issue, issue_id))  # planned just above
        enqueue_deliveries(session, again_issue)  # `digest send` again: nothing new
        again = time.perf_counter() - started
    return issue_id, planned, again


def sign_in(client: TestClient) -> None:
    import re

    page = client.get("/admin/login")
    token = re.findall(r'name="csrf_token" value="([^"]+)"', page.text)[0]
    answer = client.post(
        "/admin/login",
        data={"email": ADMIN[0], "password": ADMIN[1], "next": "/admin/", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:300]


def api_token(url: str) -> str:
    from digest.services.admins import create_api_token, get_admin

    with transaction(url) as session:
        return create_api_token(session, get_admin(session, ADMIN[0]), "scale bench")


def first_bytes_ms(client: TestClient, path: str) -> tuple[float, float]:
    """Milliseconds to the first chunk of a streamed answer, and to its end."""
    started = time.perf_counter()
    with client.stream("GET", path) as answer:
        assert answer.status_code == 200, path
        chunks = answer.iter_bytes()
        next(chunks)
        first = (time.perf_counter() - started) * 1000
        for _ in chunks:
            pass
    return first, (time.perf_counter() - started) * 1000


def pages(url: str, subscribers: int, issue_id: int) -> dict[str, float]:
    settings = Settings(url, None, None, Path("."), SECRET, "https://scale.example.org")
    app = create_app(Runtime(settings))
    oldest, last = deep_cursors(url, issue_id)
    found: dict[str, float] = {}
    with TestClient(app) as client:
        sign_in(client)
        checks = {
            "dashboard": "/admin/",
            "subscribers": f"/admin/subscribers?list={LIST}",
            "subscribers by region": f"/admin/subscribers?list={LIST}&region=湖南",
            "subscribers by topic": f"/admin/subscribers?list={LIST}&topic=industry",
            "subscribers deep page": f"/admin/subscribers?list={LIST}&after={oldest + 50}",
            "issue log": f"/admin/issues/{issue_id}",
            "issue log deep page": f"/admin/issues/{issue_id}?after={last - 50}",
        }
        found |= _medians(client, checks)
        found |= _medians(client, searches(subscribers, "/admin"))
        found["dashboard, a process's first visit"] = median_ms(partial(_afresh, client, "/admin/", url), times=3)
        found["dashboard counted afresh"] = median_ms(partial(_afresh, client, "/admin/", url, stored=False), times=3)
        first, whole = first_bytes_ms(client, f"/admin/subscribers/export.csv?list={LIST}")
        found["export first bytes"], found["export whole"] = first, whole
    with TestClient(app) as api:
        api.headers["Authorization"] = f"Bearer {api_token(url)}"
        calls = {
            "api subscribers": f"/api/v1/subscribers?list={LIST}",
            "api subscribers deep": f"/api/v1/subscribers?list={LIST}&after={oldest + 50}",
            "api subscribers by region": f"/api/v1/subscribers?list={LIST}&region=湖南",
            "api deliveries deep": f"/api/v1/issues/{issue_id}/deliveries?after={last - 100}",
        }
        found |= _medians(api, calls)
        found |= _medians(api, {f"api {k}": v for k, v in searches(subscribers, "/api/v1").items()})
    return found


def searches(subscribers: int, root: str) -> dict[str, str]:
    """The text searches: one address (the trigram index's case), and terms the seeded rows match by the
    tens of thousands: `reader00`, the oldest tenth at 1M (half at 200k), whose newest match is far down a
    newest-first walk, and the domain, which everyone matches."""
    one = f"reader{subscribers // 200 * 100:07d}"  # a multiple of 100: suppressed too
    return {
        "search one address": f"{root}/subscribers?list={LIST}&q={one}",
        "search a name": f"{root}/subscribers?list={LIST}&q=读者{subscribers // 3}",
        "search reader00 (the oldest)": f"{root}/subscribers?list={LIST}&q=reader00",
        "search everyone (the domain)": f"{root}/subscribers?list={LIST}&q=scale.example",
        "suppressions search one": f"{root}/suppressions?q={one}",
        "suppressions search common": f"{root}/suppressions?q=mailbox",
        "articles search": f"{root}/articles?list={LIST}&q=合作社",
    }


def _afresh(client: TestClient, path: str, url: str, *, stored: bool = True) -> None:
    """A visit by a process that has kept no figures yet: it shows the last count stored by any process, or,
    with `stored=False` (none stored: the first visit of all), counts while the visitor waits."""
    cast(Any, client.app).state.web.runtime.kept.forget()
    if not stored:
        with transaction(url) as session:
            session.execute(delete(models.KeptFigure))
    assert client.get(path).status_code == 200, path


def deep_cursors(url: str, issue_id: int) -> tuple[int, int]:
    """The cursors of the last pages: the oldest subscription's id, and the issue's last delivery's."""
    with transaction(url) as session:
        oldest = session.scalar(select(func.min(models.Subscription.id)))
        last = session.scalar(select(func.max(models.Delivery.id)).where(models.Delivery.issue_id == issue_id))
    return int(oldest or 0), int(last or 0)


def _medians(client: TestClient, paths: dict[str, str]) -> dict[str, float]:
    """Each path's median time over 5 requests, after one that must answer 200."""
    found = {}
    for name, path in paths.items():
        assert client.get(path).status_code == 200, path
        found[name] = median_ms(partial(client.get, path))
    return found


def issues_show(url: str) -> tuple[float, float]:
    """`digest issues show 1` to its last line: seconds, and the command's peak memory in MB."""
    env = {**os.environ, "DIGEST_DATABASE_URL": url, "DIGEST_SECRET_KEY": SECRET}
    started = time.perf_counter()
    child = subprocess.run(
        [sys.executable, "-c", _SHOW],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return time.perf_counter() - started, float(child.stdout.strip().splitlines()[-1])


class CountingBroker:
    """Takes every batch and only counts it: what is timed is the claiming, not a broker."""

    def __init__(self) -> None:
        self.rows = 0

    def hand_out(self, issue_id: int, delivery_ids: list[int]) -> None:
        self.rows += len(delivery_ids)

    def waiting(self) -> int:
        return 0

    def start_import(self, import_id: int) -> None:
        raise AssertionError("the scale bench starts no import")

    def send_form_mails(self) -> None:
        raise AssertionError("the scale bench subscribes no one through the form")

    def apply_mail_events(self, event_ids: list[int]) -> None:
        raise AssertionError("the scale bench receives no webhook")


def hand_out_everything(url: str) -> tuple[float, int]:
    """`digest send`'s handing out: every planned row claimed in batches of 500; seconds and rows.
    Claims once grew slower as they went (43x for 10x the rows): the figure per row shows if they still do."""
    settings = Settings(url, None, None, Path("."), SECRET, "https://scale.example.org")
    broker = CountingBroker()
    started = time.perf_counter()
    hand_out(Runtime(settings), broker)
    return time.perf_counter() - started, broker.rows


# Runs the command in a child and prints its own peak memory last, so the bench's seeding is not counted.
_SHOW = """
import contextlib, os, re
from digest.cli import main
# To /dev/null, not a StringIO: the command streams, and a million lines kept in a string would be the
# bench's memory, not the command's.
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    try:
        main(["issues", "show", "1"])
    except SystemExit:
        pass
# VmHWM is this process's own peak: ru_maxrss would carry the bench's, inherited across fork and exec.
with open("/proc/self/status") as status:
    print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status.read()).group(1)) / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument(
        "--database", default="digest_scale", help="the database to drop and seed (default digest_scale)"
    )
    args = parser.parse_args()
    url = fresh_database(args.database)
    started = time.perf_counter()
    seed(url, args.subscribers)
    print(f"seeded {args.subscribers:,} subscribers in {time.perf_counter() - started:.1f}s", flush=True)
    before = peak_mb()
    issue_id, planned, again = plan(url)
    planning_mb = peak_mb()
    print(f"planned in {planned:.2f}s (peak {planning_mb:.0f} MB, {before:.0f} before); again in {again:.3f}s")
    timings = pages(url, args.subscribers, issue_id)
    show_s, show_mb = issues_show(url)
    handout_s, handed = hand_out_everything(url)
    width = max(len(k) for k in timings)
    for name, ms in timings.items():
        print(f"{name:<{width}}  {ms:>9.1f} ms")
    print(f"{'digest issues show':<{width}}  {show_s * 1000:>9.1f} ms  ({show_mb:.0f} MB)")
    print(f"handed out {handed:,} rows in {handout_s:.1f}s ({handout_s / max(handed, 1) * 1e6:.1f} µs a row)")
    # The export's whole and a dashboard counted afresh (once a minute) are not one page's answer.
    slowest = max(
        (ms, name) for name, ms in timings.items() if name not in ("export whole", "dashboard counted afresh")
    )
    print(f"slowest page or call: {slowest[1]} at {slowest[0]:.0f} ms (target: under 300 ms)")
    print(
        json.dumps(
            {
                "subscribers": args.subscribers,
                "planning_s": round(planned, 3),
                "second_send_s": round(again, 3),
                "planning_peak_mb": round(planning_mb, 1),
                "issues_show_s": round(show_s, 3),
                "issues_show_peak_mb": round(show_mb, 1),
                "handout_s": round(handout_s, 2),
                "ms": {k: round(v, 1) for k, v in timings.items()},
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
