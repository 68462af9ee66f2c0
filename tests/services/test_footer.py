"""A newsletter file's footer offered to its list on ingest: it fills what the list lacks, and a list that says
otherwise keeps its own, with the report saying so (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from samples import WEEKLY_ISSUE

from digest.adapters.storage.db import transaction
from digest.core.domain import ParseResult
from digest.core.ingest import parse_file
from digest.core.regions import load_regions
from digest.services.articles import NEWSROOM_TZ, store_articles
from digest.services.lists import ensure_default_list

REGIONS = load_regions()
PUBLISHED = datetime(2021, 6, 18, 9, tzinfo=NEWSROOM_TZ)
FIXTURE_CREDITS = [["制作", "乡村发展研究编辑部"], ["责任编辑", "林晓 周明"], ["审核", "郑华"]]
ADDRESS = "北京市海淀区示例路 8 号院 B 座 301 室"


def _ingest(url, parsed):
    with transaction(url) as session:
        ml = ensure_default_list(session)
        report = store_articles(session, ml, parsed, REGIONS, source="issue.txt", published=PUBLISHED)
        return report, (ml.credits, ml.contact_email, ml.postal_address)


def test_a_list_without_a_footer_takes_the_files(database_url):
    report, footer = _ingest(database_url, parse_file(WEEKLY_ISSUE))
    assert report.added == 14
    assert (report.footer.applied, report.footer.differing) == (("credits", "contact_email", "postal_address"), ())
    assert footer == (FIXTURE_CREDITS, "weekly@example.org", ADDRESS)
    # The same file again: the list already says what the file says, nothing to report.
    again, _ = _ingest(database_url, parse_file(WEEKLY_ISSUE))
    assert (again.footer.applied, again.footer.differing, again.footer.refused) == ((), (), ())


def test_a_list_with_its_own_credits_keeps_them_and_the_report_says_so(database_url):
    own = [["制作", "本刊编辑部"], ["审核", "李审"]]
    with transaction(database_url) as session:
        ml = ensure_default_list(session)
        ml.credits, ml.contact_email = own, "WEEKLY@example.org"  # the same address, in other case
    report, footer = _ingest(database_url, parse_file(WEEKLY_ISSUE))
    assert report.footer.differing == ("credits",)
    assert report.footer.applied == ("postal_address",)  # the one field the list had left empty
    assert footer == (own, "WEEKLY@example.org", ADDRESS)
    assert report.rejected == 0 and report.added == 14  # the articles go in whatever the footer does


def test_a_footer_the_lists_checks_refuse_is_not_applied_and_the_rest_is(database_url):
    thirteen = tuple((f"编辑{i}", f"某{i}") for i in range(13))  # a list holds at most twelve credits
    parsed = ParseResult(articles=(), credits=(*thirteen, ("地址", ADDRESS)), contact_email="desk@example.org")
    report, footer = _ingest(database_url, parsed)
    assert report.footer.refused == ("credits",)
    assert report.footer.applied == ("contact_email", "postal_address")
    assert footer == ([], "desk@example.org", ADDRESS)
