"""Subscriber imports for tests: a file imported into the default list, and a database that refuses one address."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.core.regions import load_regions
from digest.services.lists import ensure_default_list
from digest.services.subscriber_import import ImportReport, import_csv

REGIONS = load_regions()


def import_text(url: str, csv_text: str, **options) -> ImportReport:
    """`csv_text` imported into the default list, as `digest subscribers import` does (a commit per chunk)."""
    options.setdefault("source", "people.csv")
    engine = make_engine(url, pooled=False)
    try:
        with transaction(url) as session:
            list_id = ensure_default_list(session).id
        return import_csv(session_factory(engine), list_id, REGIONS, csv_text, **options)
    finally:
        engine.dispose()


@contextmanager
def refusing(url: str, email: str) -> Iterator[None]:
    """While inside, the database itself refuses to store `email` as a subscriber (a trigger raises), as a
    failing disk or a lost connection would fail a chunk: no part of ours is replaced."""
    if url.startswith("sqlite"):
        create = [
            f"CREATE TRIGGER refuse_one BEFORE INSERT ON subscribers WHEN NEW.email = '{email}' "
            "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = ["DROP TRIGGER refuse_one"]
    else:
        create = [
            "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.email = '{email}' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$",
            "CREATE TRIGGER refuse_one BEFORE INSERT ON subscribers FOR EACH ROW EXECUTE FUNCTION refuse_one()",
        ]
        drop = ["DROP TRIGGER refuse_one ON subscribers", "DROP FUNCTION refuse_one()"]
    with transaction(url) as session:
        for statement in create:
            session.execute(text(statement))
    try:
        yield
    finally:
        with transaction(url) as session:
            for statement in drop:
                session.execute(text(statement))
