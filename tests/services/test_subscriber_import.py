"""Importing subscribers a chunk at a time, on SQLite and PostgreSQL: every good row kept whichever chunk holds
a bad one, an address repeated in one file, a chunk the database refuses, and the same file imported again."""

from __future__ import annotations

from importutil import import_text, refusing
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.subscriber_import import ImportReport


def _people(n: int, bad: set[int] = frozenset(), start: int = 0) -> list[str]:
    rows = []
    for i in range(start, start + n):
        email = f"p{i:03d}@example.org" if i not in bad else f"p{i:03d} at example.org"
        rows.append(f"{email},人{i},湖南,,")
    return rows


def _file(rows: list[str]) -> str:
    return "email,name,regions,topics,status\n" + "\n".join(rows) + "\n"


def _stored(url: str) -> dict[str, tuple]:
    with transaction(url) as session:
        rows = session.execute(
            select(
                models.Subscriber.email,
                models.Subscriber.name,
                models.Subscription.status,
                models.Subscription.region_codes,
                models.Subscription.topic_slugs,
                models.Subscription.confirmed_at,
            ).join(models.Subscription)
        ).all()
    return {r[0]: tuple(r[1:]) for r in rows}


def _errors(report: ImportReport) -> list[tuple[int | None, str | None]]:
    return [(p.line, p.field) for p in report.problems if p.severity == "error"]


def test_a_bad_row_in_each_chunk_keeps_every_other_row(database_url):
    # 12 rows in chunks of 4; the file's lines are row + 2 (the header is line 1).
    bad = {1, 6, 11}
    report = import_text(database_url, _file(_people(12, bad)), chunk_rows=4)
    assert (report.added, report.updated, report.skipped, report.rows_done) == (9, 0, 3, 12)
    assert _errors(report) == [(3, "email"), (8, "email"), (13, "email")]
    stored = _stored(database_url)
    assert sorted(stored) == [f"p{i:03d}@example.org" for i in range(12) if i not in bad]
    assert {(s[1], tuple(s[2])) for s in stored.values()} == {("confirmed", ("430000",))}


def test_an_address_on_several_lines_ends_as_its_last_line_says(database_url):
    rows = [
        "Dup@Example.ORG,甲,湖南,,pending",
        "other@example.org,乙,全国,,",
        "Dup@example.org,,陕西,产业发展,confirmed",  # the same address once normalised; a blank name keeps 甲
    ]
    for chunk_rows in (2, 100):  # across a chunk boundary and within one chunk alike
        if chunk_rows == 100:
            with transaction(database_url) as session:
                session.query(models.Subscriber).delete()
        report = import_text(database_url, _file(rows), chunk_rows=chunk_rows)
        assert (report.added, report.updated, report.problems) == (2, 1, [])
        stored = _stored(database_url)
        assert sorted(stored) == ["Dup@example.org", "other@example.org"]
        name, status, regions, topics, confirmed_at = stored["Dup@example.org"]
        assert (name, status, regions, topics) == ("甲", "confirmed", ["610000"], ["industry"])
        assert confirmed_at is not None


def test_a_repeat_without_a_status_after_a_line_that_left_stays_out(database_url):
    rows = ["gone@example.org,甲,湖南,,unsubscribed", "gone@example.org,甲,湖南,,"]
    report = import_text(database_url, _file(rows), chunk_rows=100)
    assert [(p.line, p.code) for p in report.problems] == [(3, "subs_kept_unsubscribed")]
    assert _stored(database_url)["gone@example.org"][1] == "unsubscribed"


def test_a_chunk_the_database_refuses_stops_there_and_the_same_file_again_finishes(database_url):
    text = _file(_people(10, bad={4}))  # chunks of 3: rows 0-2, 3-5, 6-8, 9
    with refusing(database_url, "p007@example.org"):  # in the third chunk
        stopped = import_text(database_url, text, chunk_rows=3)
    assert stopped.stopped_at == 8  # row 6, the third chunk's first, is on line 8
    assert (stopped.added, stopped.updated, stopped.rows_done) == (5, 0, 6)
    [halt] = [p for p in stopped.problems if p.code == "subs_import_stopped"]
    assert halt.line == 8 and "refused by the test" in halt.message
    assert (6, "email") in _errors(stopped)  # the bad row of the second chunk is still reported
    first = _stored(database_url)
    assert sorted(first) == [f"p{i:03d}@example.org" for i in (0, 1, 2, 3, 5)]

    again = import_text(database_url, text, chunk_rows=3)
    assert again.stopped_at is None
    assert (again.added, again.updated, again.skipped) == (4, 5, 1)
    stored = _stored(database_url)
    assert sorted(stored) == [f"p{i:03d}@example.org" for i in range(10) if i != 4]
    assert {k: v for k, v in stored.items() if k in first} == first  # the rows done before did not change
    with transaction(database_url) as session:
        assert len(session.scalars(select(models.Subscription.id)).all()) == 9


def test_the_same_file_twice_changes_nothing(database_url):
    text = _file([*_people(7), "p001@example.org,,全国,,unsubscribed"])
    import_text(database_url, text, chunk_rows=3)
    before = _stored(database_url)
    again = import_text(database_url, text, chunk_rows=3)
    assert (again.added, again.updated) == (0, 8)
    assert _stored(database_url) == before
    assert before["p001@example.org"][1:3] == ("unsubscribed", ["000000"])


def test_progress_is_told_after_each_chunk_inside_its_transaction(database_url):
    seen = []

    def progress(session, report):
        count = len(session.scalars(select(models.Subscriber.id)).all())  # this chunk's rows, not yet committed
        seen.append((report.rows_done, report.added, count))

    import_text(database_url, _file(_people(7, bad={2})), chunk_rows=3, progress=progress)
    assert seen == [(3, 2, 2), (6, 5, 5), (7, 6, 6)]
