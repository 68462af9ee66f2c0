"""Newsletter issues for tests: the project's own fixture, and where the real sample lies.

`WEEKLY_ISSUE` is a full issue in the weekly's shape written for these tests (the
headlines, bodies and credits are the project's own). The real issue the parser was
built for is reference data kept outside the repository, in `../shared/samples` beside
the checkout or wherever `DIGEST_SAMPLES_DIR` points; only the `sample_issue` fixture
(conftest.py) looks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEEKLY_ISSUE = REPO / "tests" / "fixtures" / "weekly-issue-2021-06.txt"

SAMPLE_NAME = "rural-revitalization-weekly-2021-06.txt"
SAMPLES_ENV = "DIGEST_SAMPLES_DIR"


def samples_dir() -> Path:
    """`DIGEST_SAMPLES_DIR` if set, else `<repo>/../shared/samples`."""
    configured = os.environ.get(SAMPLES_ENV)
    return Path(configured).expanduser() if configured else REPO.parent / "shared" / "samples"
