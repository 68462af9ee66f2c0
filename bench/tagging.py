"""How well the tagger finds regions and topics, beside jionlp and cpca, on articles written for it.

    PYTHONPATH=$PWD python -m bench.tagging [--file bench/tagging_articles.jsonl] [--show]

Each line of the file is an article (`title`, `body`), the region codes it is about (`regions`, the most
specific divisions that are its subject; [] when it names no place) and its `topic` (a slug of the default
list). The same rule judges the three tools, article by article, on the set of codes each found (a code whose
own division also holds another found code is dropped first: 湖南 beside 沅陵县 is not a second region):

- right: exactly the expected set;
- wrong: some code found lies outside every expected division and holds none of them (another place; 全国
  where a place was expected or the reverse; anything at all where no place was expected);
- missed: neither: something expected is missing or only its province or city was found (or a division inside
  an expected one), and nothing is in the wrong place.

jionlp's `recognize_location` and cpca's `transform` come from PyPI (`pip install -e .[bench]`); their
names are read back to codes with RegionIndex.resolve. A tool that cannot be imported gets its column
marked as such. The project's articles per second are measured on one core, tagging the whole file
over and over for about a second. The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from digest.core.domain import Topic
from digest.core.regions import RegionIndex, load_regions
from digest.core.tagging import default_rules, tag_article
from digest.services.lists import DEFAULT_TOPICS

ARTICLES = Path(__file__).with_name("tagging_articles.jsonl")
Finder = Callable[[str, str], set[str]]


@dataclass
class Score:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    unavailable: str = ""
    misses: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        if self.unavailable:
            return {"unavailable": self.unavailable}
        return {"right": self.right, "wrong": self.wrong, "missed": self.missed}


def load_articles(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def most_specific(codes: set[str], regions: RegionIndex) -> set[str]:
    return {c for c in codes if not any(o != c and regions.contains(c, o) for o in codes)}


def judge(found: set[str], expected: set[str], regions: RegionIndex) -> str:
    """'right', 'wrong' or 'missed', as the module docstring defines them."""
    found = most_specific(found, regions)
    if found == expected:
        return "right"
    if any(not any(regions.overlaps(code, e) for e in expected) for code in found):
        return "wrong"
    return "missed"


def _resolved(names: list[str | None], regions: RegionIndex) -> set[str]:
    label = "".join(n for n in names if n)
    return set(regions.resolve(label).codes) if label else set()


def jionlp_finder(regions: RegionIndex) -> Finder:
    import jionlp

    def find(title: str, body: str) -> set[str]:
        found = jionlp.recognize_location(f"{title}。{body}")
        codes: set[str] = set()
        for place, _count in found.get("domestic") or ():
            codes |= _resolved([place.get("province"), place.get("city"), place.get("county")], regions)
        return codes

    return find


def cpca_finder(regions: RegionIndex) -> Finder:
    import cpca

    def find(title: str, body: str) -> set[str]:
        row = cpca.transform([f"{title}。{body}"]).iloc[0]
        return _resolved([row.get("省"), row.get("市"), row.get("区")], regions)

    return find


def project_finder(regions: RegionIndex) -> Finder:
    rules = default_rules(_default_topics())

    def find(title: str, body: str) -> set[str]:
        return set(tag_article(title, body, regions, rules).regions.codes)

    return find


def _default_topics() -> list[Topic]:
    return [Topic(slug, name, i) for i, (slug, name) in enumerate(DEFAULT_TOPICS)]


def score(finder: Finder, articles: list[dict], regions: RegionIndex) -> Score:
    result = Score()
    for number, article in enumerate(articles, 1):
        found = finder(article["title"], article["body"])
        verdict = judge(found, set(article["regions"]), regions)
        setattr(result, verdict, getattr(result, verdict) + 1)
        if verdict != "right":
            result.misses.append(
                f"{number} {verdict}: {article['title']} expected {article['regions']} got {sorted(found)}"
            )
    return result


def topic_accuracy(articles: list[dict], regions: RegionIndex) -> tuple[float, list[str]]:
    rules = default_rules(_default_topics())
    misses = []
    for number, article in enumerate(articles, 1):
        got = tag_article(article["title"], article["body"], regions, rules).topic.slug
        if got != article["topic"]:
            misses.append(f"{number}: {article['title']} expected {article['topic']} got {got}")
    return 1 - len(misses) / len(articles), misses


def throughput(articles: list[dict], regions: RegionIndex, seconds: float = 1.0) -> float:
    """Articles tagged per second on one core (this process is pinned to one where the system allows)."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rules = default_rules(_default_topics())
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for article in articles:
            tag_article(article["title"], article["body"], regions, rules)
        done += len(articles)
    return done / (time.perf_counter() - start)


def _tool(name: str, make: Callable[[RegionIndex], Finder], articles: list[dict], regions: RegionIndex) -> Score:
    try:
        finder = make(regions)
        finder("试", "试")  # cpca and jionlp load their dictionaries on first use
    except Exception as exc:  # any failure to load a third-party tool is reported, not fatal
        return Score(unavailable=f"{name} unavailable: {type(exc).__name__}: {exc}")
    return score(finder, articles, regions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--file", type=Path, default=ARTICLES)
    parser.add_argument("--show", action="store_true", help="list the articles each tool did not get right")
    args = parser.parse_args()
    articles = load_articles(args.file)
    regions = load_regions()
    scores = {
        "project": _tool("project", project_finder, articles, regions),
        "jionlp": _tool("jionlp", jionlp_finder, articles, regions),
        "cpca": _tool("cpca", cpca_finder, articles, regions),
    }
    accuracy, topic_misses = topic_accuracy(articles, regions)
    rate = throughput(articles, regions)
    print(f"{len(articles)} articles from {args.file}")
    print(f"{'tool':<10}{'right':>7}{'wrong':>7}{'missed':>8}")
    for name, result in scores.items():
        if result.unavailable:
            print(f"{name:<10}  {result.unavailable}")
        else:
            print(f"{name:<10}{result.right:>7}{result.wrong:>7}{result.missed:>8}")
        if args.show:
            for line in result.misses:
                print(f"    {line}")
    print(f"project topics right: {accuracy:.1%}")
    if args.show:
        for line in topic_misses:
            print(f"    {line}")
    print(f"project tagging: {rate:.0f} articles/s on one core")
    summary = {name: result.as_dict() for name, result in scores.items()}
    print(
        json.dumps(
            {
                "articles": len(articles),
                **summary,
                "topic_accuracy": round(accuracy, 3),
                "articles_per_second": round(rate),
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
