"""Digests rendered per second: CSS inlined once per distinct content vs premailer per message.

    python -m bench.render [--subscribers 5000] [--naive 300]

Both paths serve subscribers whose picks spread over the provinces and topics the
way a real list's do. The naive path
runs on a prefix of the same subscribers (it is slow); rates are per digest.
Rendering alone and rendering plus the MIME message are measured separately,
since the stdlib's message serialisation costs as much as everything else. The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, datetime
from pathlib import Path
from typing import TypedDict, cast

from digest.core.domain import Article, Digest, ListInfo, Picks, Recipient, RenderedDigest, Topic
from digest.core.ingest import parse_file
from digest.core.messages import MessageHeaders, message_bytes, reference_message
from digest.core.regions import load_regions
from digest.core.rendering import make_environment, personalise, render_content, render_digest
from digest.core.selection import assemble_digest
from digest.services.articles import NEWSROOM_TZ
from digest.services.lists import DEFAULT_TOPICS

DEMO_ISSUE = Path(__file__).resolve().parent.parent / "digest" / "data" / "demo-issue.txt"


def demo_articles(regions) -> tuple[ListInfo, list[Article]]:
    topics = tuple(Topic(slug, name, i) for i, (slug, name) in enumerate(DEFAULT_TOPICS))
    by_name = {t.name: t.slug for t in topics}
    parsed = parse_file(DEMO_ISSUE, default_published=datetime(2026, 11, 25, 9, tzinfo=NEWSROOM_TZ))
    articles = []
    for i, item in enumerate(parsed.articles, 1):
        codes = tuple(c for label in item.regions for c in regions.resolve(label).codes)
        published = cast(datetime, item.published)  # parse_file gives an undated article default_published
        articles.append(
            Article(i, by_name[item.topic], item.title, item.body_html, codes, item.region_label, published)
        )
    info = ListInfo(
        slug="rural-weekly",
        name="乡村振兴周报",
        topics=topics,
        sender_email="weekly@example.org",
        sender_name="乡村振兴周报",
        masthead="乡村振兴周报",
        credits=parsed.credits,
    )
    return info, articles


def subscriber_picks(n: int, regions, seed: int = 7) -> list[Picks]:
    """A realistic spread: most pick a province or a city, some 全国, some topics only."""
    rng = random.Random(seed)
    provinces = [p.code for p in regions.provinces()]
    slugs = [s for s, _ in DEFAULT_TOPICS]
    picks = []
    for _ in range(n):
        roll = rng.random()
        chosen: set[str] = set()
        if roll < 0.15:
            chosen = {"000000"}
        elif roll < 0.65:
            chosen = {rng.choice(provinces)}
        elif roll < 0.9:
            province = rng.choice(provinces)
            cities = regions.children(province) or (regions.get(province),)
            chosen = {rng.choice(cities).code}
        if rng.random() < 0.3:
            chosen.add("000000")
        topics = frozenset(rng.sample(slugs, rng.randint(1, 3))) if rng.random() < 0.4 else frozenset()
        picks.append(Picks(regions=frozenset(chosen), topics=topics))
    return picks


class _Period(TypedDict):
    period_start: date
    period_end: date


def _message(rendered: RenderedDigest, info: ListInfo, recipient: Recipient) -> bytes:
    # The stdlib EmailMessage and generator, as this benchmark has always measured the MIME step.
    headers = MessageHeaders(list_info=info, recipient=recipient, list_id_domain="digest.example.org")
    return message_bytes(reference_message(rendered, headers))


def run(subscribers: int, naive: int) -> dict[str, float]:
    regions = load_regions()
    env = make_environment()
    info, articles = demo_articles(regions)
    picks = subscriber_picks(subscribers, regions)
    period: _Period = dict(period_start=date(2026, 11, 22), period_end=date(2026, 11, 28))

    def recipient(i: int) -> Recipient:
        base = f"https://digest.example.org/u/token{i}"
        return Recipient(f"reader{i}@example.org", f"读者{i}", base, f"mailto:u@example.org?subject=u{i}", base, base)

    def per_content(limit: int, build: bool) -> tuple[int, float, int]:
        """Render and inline once per distinct set of articles, personalise per subscriber."""
        started = time.perf_counter()
        digests: dict[Picks, Digest]
        contents: dict[tuple[int, ...], RenderedDigest]
        digests, contents, done = {}, {}, 0
        for i, p in enumerate(picks[:limit]):
            digest = digests.get(p) or digests.setdefault(p, assemble_digest(info, articles, p, regions, **period))
            if digest.article_count == 0:
                continue
            content = contents.get(digest.article_ids)
            if content is None:
                content = contents[digest.article_ids] = render_content(digest, env)
            personal = personalise(content, recipient(i))
            if build:
                _message(personal, info, recipient(i))
            done += 1
        return done, time.perf_counter() - started, len(contents)

    def per_message(limit: int, build: bool) -> tuple[int, float]:
        """Templates and premailer for every message: `render_digest` keeps nothing between calls."""
        started = time.perf_counter()
        done = 0
        for i, p in enumerate(picks[:limit]):
            digest = assemble_digest(info, articles, p, regions, **period)
            if digest.article_count == 0:
                continue
            personal = render_digest(digest, recipient(i), env)
            if build:
                _message(personal, info, recipient(i))
            done += 1
        return done, time.perf_counter() - started

    rendered, render_s, distinct = per_content(subscribers, build=False)
    built, build_s, _ = per_content(subscribers, build=True)
    naive_rendered, naive_render_s = per_message(naive, build=False)
    naive_built, naive_build_s = per_message(naive, build=True)
    rates = {
        "render_per_content_per_s": rendered / render_s,
        "render_per_message_per_s": naive_rendered / naive_render_s,
        "message_per_content_per_s": built / build_s,
        "message_per_message_per_s": naive_built / naive_build_s,
    }
    result: dict[str, float] = {"subscribers": subscribers, "digests": rendered, "distinct_contents": distinct}
    result.update({k: round(v, 1) for k, v in rates.items()})
    result["render_ratio"] = round(rates["render_per_content_per_s"] / rates["render_per_message_per_s"], 1)
    result["message_ratio"] = round(rates["message_per_content_per_s"] / rates["message_per_message_per_s"], 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--naive", type=int, default=300, help="how many of them the slow path renders")
    args = parser.parse_args()
    result = run(args.subscribers, args.naive)
    r = result
    print(
        f"{r['subscribers']} subscribers, {r['digests']} non-empty digests, {r['distinct_contents']} distinct contents"
    )
    print(f"{'digests/s':<28}{'inline per content':>20}{'premailer per message':>24}{'ratio':>8}")
    print(
        f"{'render (html, text, subject)':<28}{r['render_per_content_per_s']:>20.1f}"
        f"{r['render_per_message_per_s']:>24.1f}{r['render_ratio']:>7.1f}x"
    )
    print(
        f"{'render + MIME message':<28}{r['message_per_content_per_s']:>20.1f}"
        f"{r['message_per_message_per_s']:>24.1f}{r['message_ratio']:>7.1f}x"
    )
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
