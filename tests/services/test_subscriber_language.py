"""The language a subscriber reads: a new one added to an English list reads English (one by one or imported)
until they choose; someone already known keeps what they chose; a language we do not write is refused."""

from __future__ import annotations

import pytest
from importutil import REGIONS, import_text
from personas import ALEX_ENGLISH, LI_HUNAN, subscribe_confirmed
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription


def _english_list(url: str) -> None:
    with transaction(url) as session:
        ensure_default_list(session).language = "en"


def _locales(url: str) -> dict[str, str]:
    with transaction(url) as session:
        return {
            email: locale
            for email, locale in session.execute(select(models.Subscriber.email, models.Subscriber.locale))
        }


def test_a_new_subscriber_reads_the_lists_language_unless_they_chose(database_url):
    _english_list(database_url)
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        upsert_subscription(session, ml, REGIONS, email="new@example.org")
        subscribe_confirmed(session, ml, REGIONS, (LI_HUNAN, ALEX_ENGLISH))
    assert _locales(database_url) == {"new@example.org": "en", LI_HUNAN.email: "zh-CN", ALEX_ENGLISH.email: "en"}


def test_an_import_into_an_english_list_makes_new_readers_english_and_keeps_the_known(database_url):
    with transaction(database_url) as session:
        subscribe_confirmed(session, ensure_default_list(session), REGIONS, (LI_HUNAN,))
    _english_list(database_url)
    report = import_text(database_url, f"email,name\nnew@example.org,New\n{LI_HUNAN.email},{LI_HUNAN.name}\n")
    assert (report.added, report.updated) == (1, 1)
    assert _locales(database_url) == {"new@example.org": "en", LI_HUNAN.email: "zh-CN"}


def test_a_language_we_do_not_write_is_refused_by_name(database_url):
    with transaction(database_url) as session, pytest.raises(ValueError, match="unknown language 'fr'"):
        upsert_subscription(session, ensure_default_list(session), REGIONS, email="x@example.org", locale="fr")
    assert _locales(database_url) == {}
