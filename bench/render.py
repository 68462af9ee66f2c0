"""Digests rendered per second: CSS inlined once per distinct content vs premailer per message.

    python -m bench.render [--subscribers 5000] [--naive 300]

Both paths build the full message (render, personalise, MIME) for subscribers whose
picks spread over the provinces and topics the way a real list's do. The naive path
is run on a prefix of the same subscribers (it is slow) and its rate compared per
message. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from datetime import date, datetime
from pathlib import Path

from digest.domain import Article, Picks, Recipient
from digest.ingest import parse_file
from digest.messages import build_message
from digest.regions import load_regions
from digest.rendering import make_environment, personalise, render_content, render_digest_uncached
from digest.selection import assemble_digest
from digest.services.articles import NEWSROOM_TZ
from digest.services.lists import DEFAULT_TOPICS
from digest.domain import ListInfo, Topic

DEMO_ISSUE = Path(__file__).resolve().parent.parent / "digest" / "data" / "demo-issue.txt"


def demo_articles(regions) -> tuple[ListInfo, list[Article]]:
    topics = tuple(Topic(slug, name, i) for i, (slug, name) in enumerate(DEFAULT_TOPICS))
    by_name = {t.name: t.slug for t in topics}
    parsed = parse_file(DEMO_ISSUE, default_published=datetime(2026, 11, 25, 9, tzinfo=NEWSROOM_TZ))
    articles = []
    for i, item in enumerate(parsed.articles, 1):
        codes = tuple(c for label in item.regions for c in regions.resolve(label).codes)
        articles.append(
            Article(i, by_name[item.topic], item.title, item.body_html, codes, item.region_label, item.published)
        )
    info = ListInfo(slug="rural-weekly", name="乡村振兴周报", topics=topics, sender_email="weekly@example.org",
                    sender_name="乡村振兴周报", masthead="乡村振兴周报", credits=parsed.credits)
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


def run(subscribers: int, naive: int) -> dict:
    regions = load_regions()
    env = make_environment()
    info, articles = demo_articles(regions)
    picks = subscriber_picks(subscribers, regions)
    period = dict(period_start=date(2026, 11, 22), period_end=date(2026, 11, 28))

    def recipient(i: int) -> Recipient:
        base = f"https://digest.example.org/u/token{i}"
        return Recipient(f"reader{i}@example.org", f"读者{i}", base, f"mailto:u@example.org?subject=u{i}", base, base)

    def message(rendered, r):
        return build_message(rendered, list_info=info, recipient=r, list_id_domain="digest.example.org")

    # Per-content: render and inline once per distinct set of articles, personalise per subscriber.
    started = time.perf_counter()
    digests, contents, sent = {}, {}, 0
    for i, p in enumerate(picks):
        digest = digests.get(p) or digests.setdefault(p, assemble_digest(info, articles, p, regions, **period))
        if digest.article_count == 0:
            continue
        content = contents.get(digest.article_ids)
        if content is None:
            content = contents[digest.article_ids] = render_content(digest, env)
        message(personalise(content, recipient(i)), recipient(i)).as_bytes()
        sent += 1
    cached_s = time.perf_counter() - started

    # Naive: templates and premailer for every message.
    started = time.perf_counter()
    naive_sent = 0
    for i, p in enumerate(picks[:naive]):
        digest = assemble_digest(info, articles, p, regions, **period)
        if digest.article_count == 0:
            continue
        r = recipient(i)
        message(render_digest_uncached(digest, r, env), r).as_bytes()
        naive_sent += 1
    naive_s = time.perf_counter() - started

    cached_rate = sent / cached_s
    naive_rate = naive_sent / naive_s
    return {
        "subscribers": subscribers,
        "messages": sent,
        "distinct_contents": len(contents),
        "per_content_per_s": round(cached_rate, 1),
        "per_message_per_s": round(naive_rate, 1),
        "speedup": round(cached_rate / naive_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--naive", type=int, default=300, help="how many of them the slow path renders")
    args = parser.parse_args()
    result = run(args.subscribers, args.naive)
    print(f"subscribers            {result['subscribers']}")
    print(f"messages built         {result['messages']} ({result['distinct_contents']} distinct contents)")
    print(f"per-content inlining   {result['per_content_per_s']:>8.1f} digests/s")
    print(f"premailer per message  {result['per_message_per_s']:>8.1f} digests/s")
    print(f"ratio                  {result['speedup']:>8.1f}x")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
