"""CountingLines splits a text into lines exactly as io.StringIO(text, newline="") does, without copying it."""

from __future__ import annotations

import io
import random

import pytest

from digest.core.ingest.csvfile import CountingLines

TEXTS = ["", "a", "a\n", "a\nb", "a\r\nb\rc\n", "\n\n", "\r\r\n\n\r", "甲,乙\r\n丙\n", "x\u2028y\nz\x0cw\x1c\n"]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(["a", "甲", ",", '"', "\n", "\r", "\r\n", "\u2028", "\x85", " "]) for _ in range(60))


@pytest.mark.parametrize("text", TEXTS + [_random_text(random.Random(seed)) for seed in range(200)])
def test_lines_are_those_stringio_gives(text):
    lines = CountingLines(text)
    assert list(lines) == list(io.StringIO(text, newline=""))
    assert lines.consumed == len(list(io.StringIO(text, newline="")))
