"""A subscriber CSV of N rows imported on PostgreSQL, against a plain COPY of the same file as the ceiling.

    python -m bench.import_csv --rows 1000000 --database digest_import_bench

Writes a CSV as people send them (regions and topics by name, some rows without a status), with one row in
a hundred bad (an address that is not one, a region that does not exist) and one in a hundred repeating an
earlier address; imports it into a fresh database (`--database`, dropped first) with `import_csv`, as
`digest subscribers import` and the console's task do; then imports it again (nothing changes: the re-run
after an interruption); then COPYs the same bytes into a bare table of text columns, the fastest PostgreSQL
takes them in. Prints each step, then one JSON object: rows/s, seconds, the CPU seconds of this process and of
the PostgreSQL backend, peak RSS (the file is written and read back first, so it is the import's own, with the
file's text), and the import's time over the COPY's.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import psycopg
from sqlalchemy import func, select
from sqlalchemy import text as sql_text

from bench.render import subscriber_picks
from bench.send import fresh_database
from digest.adapters.storage import models
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.core.regions import RegionIndex, load_regions
from digest.services.lists import ensure_default_list
from digest.services.subscriber_import import ImportReport, import_csv

BLOCK = 100_000  # picks made a block at a time: a million Picks at once would outweigh the import itself


def write_people_csv(path: Path, rows: int, regions: RegionIndex, topic_names: dict[str, str]) -> int:
    """Writes the file; returns how many distinct addresses its good rows hold."""
    rng = random.Random(17)
    good: set[int] = set()
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["email", "name", "regions", "topics", "status"])
        for block in range(0, rows, BLOCK):
            picks = subscriber_picks(min(BLOCK, rows - block), regions, seed=17 + block // BLOCK)
            for i, pick in enumerate(picks, start=block):
                person = i
                if i > 100 and rng.random() < 0.01:
                    person = rng.randrange(i)  # someone already listed, again
                email = f"reader{person:07d}@import.example.org"
                labels = ", ".join(regions.display(c) for c in sorted(pick.regions))
                if rng.random() < 0.005:
                    email = email.replace("@", " at ")
                elif rng.random() < 0.005:
                    labels = "火星"
                else:
                    good.add(person)
                topics = ", ".join(topic_names[t] for t in sorted(pick.topics))
                writer.writerow([email, f"读者{person}", labels, topics, rng.choice(("", "", "confirmed", "pending"))])
    return len(good)


@dataclass
class Timing:
    seconds: float  # wall clock
    cpu: float  # this process
    server_cpu: float  # the PostgreSQL backend that ran the statements


def timed_import(url: str, list_id: int, regions: RegionIndex, text: str) -> tuple[Timing, ImportReport]:
    """The import on a pool of one connection, so the backend whose CPU is read is the one that did the work."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            backend = conn.execute(sql_text("SELECT pg_backend_pid()")).scalar_one()
        server, cpu, started = _cpu_of(backend), time.process_time(), time.perf_counter()
        report = import_csv(session_factory(engine), list_id, regions, text, source="bench.csv")
        elapsed = Timing(time.perf_counter() - started, time.process_time() - cpu, _cpu_of(backend) - server)
        return elapsed, report
    finally:
        engine.dispose()


def _cpu_of(pid: int) -> float:
    """User and system seconds of a process on this machine (the database runs here: 127.0.0.1)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def copy_ceiling(url: str, text: str) -> float:
    """The same bytes COPYed into a bare table: what PostgreSQL alone costs to take the file in."""
    engine = make_engine(url, pooled=False)
    try:
        with engine.begin() as conn:
            raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
            with raw.cursor() as cursor:
                cursor.execute(
                    "CREATE TABLE bare_people (email text, name text, regions text, topics text, status text)"
                )
                started = time.perf_counter()
                with cursor.copy("COPY bare_people FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                    data = text.encode()
                    for start in range(0, len(data), 1 << 20):
                        copy.write(data[start : start + (1 << 20)])
                return time.perf_counter() - started
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default="digest_import_bench", help="dropped and made again")
    args = parser.parse_args()
    regions = load_regions()
    url = fresh_database(args.database)
    with transaction(url) as session:
        ml = ensure_default_list(session)
        list_id, topic_names = ml.id, {t.slug: t.name for t in ml.topics}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "people.csv"
        distinct = write_people_csv(path, args.rows, regions, topic_names)
        text = path.read_text(encoding="utf-8-sig")  # as `digest subscribers import` reads it
    print(f"{args.rows} rows, {len(text) / 1e6:.1f} MB, {distinct} distinct good addresses", file=sys.stderr)
    first, report = timed_import(url, list_id, regions, text)
    counts = f"{report.added} added, {report.updated} updated, {report.skipped} refused"
    print(f"import: {first} ({counts})", file=sys.stderr)
    again, second = timed_import(url, list_id, regions, text)
    print(f"again: {again} ({second.added} added)", file=sys.stderr)
    with transaction(url) as session:
        stored = session.scalar(select(func.count()).select_from(models.Subscription))
    ceiling = copy_ceiling(url, text)
    print(f"COPY of the same file: {ceiling:.2f} s", file=sys.stderr)
    print(
        json.dumps(
            {
                "rows": args.rows,
                "import_seconds": round(first.seconds, 1),
                "rows_per_second": round(args.rows / first.seconds),
                "import_cpu_seconds": round(first.cpu, 1),
                "server_cpu_seconds": round(first.server_cpu, 1),
                "again_seconds": round(again.seconds, 1),
                "again_cpu_seconds": round(again.cpu, 1),
                "copy_seconds": round(ceiling, 2),
                "over_copy": round(first.seconds / ceiling, 1),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                "added": report.added,
                "updated": report.updated,
                "refused": report.skipped,
                "stored": stored,
                "expected": distinct,
                "stopped_at": report.stopped_at,
            }
        )
    )


if __name__ == "__main__":
    main()
