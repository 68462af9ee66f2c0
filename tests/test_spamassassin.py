"""SpamAssassin's local rules score a digest as a reader's server would: at most 0.1.

Needs Debian's spamassassin (`apt-get install spamassassin`; .ci/run installs it). Without it
the test skips on a developer's machine and fails under CI=true: a skipped check proves nothing.
Local tests only (-L): no network, no DNS blocklists, so the score depends on the message alone.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
from fixtures_db import _unavailable
from sample_digest import sample_message
from samples import WEEKLY_ISSUE

from digest.core.domain import Picks

pytestmark = pytest.mark.spamassassin
LIMIT = 0.1


def spamassassin_report(raw: bytes, home) -> tuple[float, str]:
    """The score and the rules that hit, from `spamassassin -L -t`."""
    binary = shutil.which("spamassassin")
    if binary is None:
        _unavailable("spamassassin", FileNotFoundError("spamassassin (apt-get install spamassassin)"))
    # Its user preferences go to a home of the test's own, not the developer's.
    env = {**os.environ, "HOME": str(home)}
    done = subprocess.run([binary, "-L", "-t"], input=raw, capture_output=True, env=env, timeout=120, check=True)
    out = done.stdout.decode("utf-8", "replace")
    status = re.search(r"^X-Spam-Status: \w+, score=(-?[\d.]+)(.*?)(?=^\S)", out, re.M | re.S)
    assert status, out[:2000]
    details = out.split("Content analysis details:", 1)[-1].split("\n\n", 1)[0]
    return float(status.group(1)), " ".join(status.group(2).split()) + "\n" + details


@pytest.mark.parametrize("picks", [Picks(), Picks(regions=frozenset({"430000", "000000"}))], ids=["all", "picked"])
def test_a_digest_scores_at_most_a_tenth(tmp_path, picks):
    score, report = spamassassin_report(sample_message(WEEKLY_ISSUE, picks).raw, tmp_path)
    assert score <= LIMIT, report
    assert "HTML_FONT_LOW_CONTRAST" not in report


@pytest.mark.parametrize("article_text", ["full", "lead"])
def test_the_real_week_scores_at_most_a_tenth(tmp_path, sample_issue, article_text):
    score, report = spamassassin_report(sample_message(sample_issue, article_text=article_text).raw, tmp_path)
    assert score <= LIMIT, report
