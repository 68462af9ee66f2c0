"""Chart geometry for the dashboard's inline SVG: numbers in, coordinates out. Pure.

The templates draw what these return; keeping the arithmetic here lets it be
tested without a browser, and keeps the pages free of any chart library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Room around the plot for the axis labels, in SVG user units.
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


def nice_ticks(maximum: float, count: int = 4) -> list[int]:
    """0 and round steps (1, 2, 5 × 10ⁿ) up to at least `maximum`: 0, 5, 10, 15, 20 for 17."""
    if maximum <= 0:
        return [0, 1]
    raw = maximum / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    step = max(1, int(step))
    top = step * math.ceil(maximum / step)
    return list(range(0, top + 1, step))


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    value: int
    label: str


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    points: tuple[Point, ...]
    line: str  # SVG path data
    area: str  # the same line closed down to the axis
    ticks: tuple[Tick, ...]
    x_labels: tuple[Point, ...]  # the points whose labels are shown (every few, so they do not collide)
    baseline: float


def _scale(ticks: list[int], height: int):
    top, bottom = TOP, height - BOTTOM
    span = ticks[-1] or 1
    return lambda v: round(bottom - (bottom - top) * v / span, 1)


def line_chart(
    values: Sequence[int], labels: Sequence[str], *, width: int = 640, height: int = 240, max_labels: int = 7
) -> LineChart:
    ticks = nice_ticks(max(values, default=0))
    y = _scale(ticks, height)
    inner = width - LEFT - RIGHT
    n = len(values)
    step = inner / (n - 1) if n > 1 else 0
    points = tuple(Point(round(LEFT + i * step, 1), y(v), v, labels[i]) for i, v in enumerate(values))
    line = " ".join(f"{'M' if i == 0 else 'L'}{p.x:g},{p.y:g}" for i, p in enumerate(points))
    baseline = y(0)
    area = f"{line} L{points[-1].x:g},{baseline:g} L{points[0].x:g},{baseline:g} Z" if points else ""
    every = max(1, math.ceil(n / max_labels))
    # The newest point always gets its label: it is the one people look for.
    shown = tuple(p for i, p in enumerate(points) if (n - 1 - i) % every == 0)
    return LineChart(width, height, points, line, area, tuple(Tick(y(t), t) for t in ticks), shown, baseline)


@dataclass(frozen=True)
class Segment:
    series: str
    x: float
    y: float
    width: float
    height: float
    value: int


@dataclass(frozen=True)
class Bar:
    label: str
    x: float  # centre, for the label
    total: int
    top: float  # where the total's label goes
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class StackedBars:
    width: int
    height: int
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    baseline: float


def stacked_bars(
    series: Sequence[str], bars: Sequence[tuple[str, dict[str, int]]], *, width: int = 640, height: int = 240
) -> StackedBars:
    """One bar per (label, {series: value}); segments stack bottom-up in `series` order, empty ones left out."""
    totals = [sum(values.get(s, 0) for s in series) for _, values in bars]
    ticks = nice_ticks(max(totals, default=0))
    y = _scale(ticks, height)
    inner = width - LEFT - RIGHT
    slot = inner / max(len(bars), 1)
    bar_width = round(min(slot * 0.7, 48), 1)
    out = []
    for i, ((label, values), total) in enumerate(zip(bars, totals, strict=True)):
        centre = LEFT + slot * (i + 0.5)
        left = round(centre - bar_width / 2, 1)
        below = 0
        segments = []
        for name in series:
            value = values.get(name, 0)
            if value <= 0:
                continue
            top, bottom = y(below + value), y(below)
            segments.append(Segment(name, left, top, bar_width, round(bottom - top, 1), value))
            below += value
        out.append(Bar(label, round(centre, 1), total, y(total), tuple(segments)))
    return StackedBars(width, height, tuple(out), tuple(Tick(y(t), t) for t in ticks), y(0))


@dataclass(frozen=True)
class HRow:
    label: str
    value: int
    y: float  # top of the bar
    width: float
    kind: str  # "province", "national" or "everywhere": the template colours them apart


@dataclass(frozen=True)
class HorizontalBars:
    width: int
    height: int
    rows: tuple[HRow, ...]
    row_height: int
    bar_height: int
    label_width: int


def horizontal_bars(
    rows: Sequence[tuple[str, int, str]],
    *,
    width: int = 640,
    label_width: int = 96,
    row_height: int = 24,
    number_room: int = 48,
) -> HorizontalBars:
    """(label, value, kind) rows, top to bottom; bar lengths in proportion to the largest value."""
    largest = max((v for _, v, _ in rows), default=0) or 1
    room = width - label_width - number_room
    bar_height = row_height - 8
    out = tuple(
        HRow(label, value, i * row_height + 4, round(room * value / largest, 1), kind)
        for i, (label, value, kind) in enumerate(rows)
    )
    return HorizontalBars(width, max(len(rows), 1) * row_height, out, row_height, bar_height, label_width)
