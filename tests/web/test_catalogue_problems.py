"""Every problem the parsers and services can report carries a code the admin pages can word in both languages."""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from importutil import import_text, refusing

from digest.adapters.storage.db import transaction
from digest.core.domain import Problem
from digest.core.ingest import (
    IngestFormatError,
    decode,
    format_for_path,
    parse_csv,
    parse_jsonl,
    parse_newsletter,
    parse_text,
)
from digest.core.ingest.jsonl import CHINA_TZ
from digest.core.regions import load_regions
from digest.services.article_editing import add_articles
from digest.services.articles import store_articles
from digest.services.lists import ensure_default_list
from digest.services.subscribers import upsert_subscription
from digest.web.catalogue.problems import PREFIX, worded
from digest.web.i18n import CATALOGUE

REGIONS = load_regions()
DIGEST = Path(__file__).resolve().parents[2] / "digest"
WHEN = datetime(2026, 11, 20, 9, tzinfo=CHINA_TZ)
LATIN_WORDS = re.compile(r"[A-Za-z]{3,}(?: [A-Za-z]{2,}){2,}")

NEWSLETTER = """目录杂项说明文字。
宏观形势
财政部 | 部署全面推进乡村振兴工作
 | 空地区目录
湖南 | \n湖南 | 目录有正文却在别的栏目
湖南 | 目录有但正文没有
宏观形势
财政部 | 部署全面推进乡村振兴工作
财政部近日召开会议，部署全面推进乡村振兴工作。
产业发展
湖南 | 目录有正文却在别的栏目
正文一段。
甘肃 | 没有正文的文章
 | 正文里空地区
正文段落被吞掉。
湖南 | \n甘肃临泽 | 不在目录里的文章
临泽正文。
制作：
邮箱：not-an-email
"""


def _fatal(call) -> Problem:
    with pytest.raises(IngestFormatError) as caught:
        call()
    return caught.value.problem


def _record(**changes) -> str:
    record = {"title": "标题", "body": "正文。", "topic": "产业发展", "regions": ["湖南"], "published": "2026-11-20"}
    record.update(changes)
    return json.dumps({k: v for k, v in record.items() if v is not ...}, ensure_ascii=False)


def _parser_problems() -> list[Problem]:
    found = [
        _fatal(lambda: parse_text("  \n", "a.jsonl", "jsonl")),
        _fatal(lambda: parse_text("x", "a.xml", "xml")),
        _fatal(lambda: format_for_path("a.doc")),
        _fatal(lambda: format_for_path("README")),
        _fatal(lambda: decode(b"a\n\x00b", "a.txt")),
        _fatal(lambda: decode(b"a\n\xff", "a.txt")),
        _fatal(lambda: parse_jsonl("hello\nworld")),
        _fatal(lambda: parse_csv("")),
        _fatal(lambda: parse_csv("title," + "x" * 200_000 + "\n")),
        _fatal(lambda: parse_csv("title,body\n")),
        _fatal(lambda: parse_csv(" , \n")),
        _fatal(lambda: parse_csv("title,title,body,topic,regions,published\n")),
        _fatal(lambda: parse_newsletter("只有一段文字。\n")),
    ]
    lines = [
        "{bad json",
        "[1, 2]",
        _record(title=...),
        _record(body="  "),
        _record(title=5),
        _record(regions=[1]),
        _record(regions=5),
        _record(regions=" ，"),
        _record(published=...),
        _record(published=7),
        _record(published="yesterday"),
        _record(url="ftp://example.org/x"),
        _record(body="<script>x</script>"),
        _record(title="长" * 501),
        _record(title="付款\u202e说明"),
        _record(regions=["湖\x00南"]),
        '{"title": NaN}',
        '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}",
    ]
    found += parse_jsonl("\n".join(lines), "bad.jsonl").problems
    header = "title,body,topic,regions,published\n"
    found += parse_csv(header + 'a,"' + "x" * 200_000 + '",t,r,2026-11-20\n' + "a,b,c,d,2026-11-20,extra\n").problems
    found += parse_newsletter(NEWSLETTER, "issue.txt").problems
    found += parse_newsletter("前言。\n湖南 | 标题在前\n正文。\n", "issue.txt").problems
    found += parse_newsletter(
        "湖南 | 目录项\n宏观形势\n湖南 | 目录项\n宏观形势\n湖南 | 目录项\n正文。\n", "issue.txt"
    ).problems
    return found


def _region_warnings() -> list:
    labels = ("", "999999", "火星", "朝阳", "鼓楼", "江苏鼓楼", "江苏沐阳", "江苏火星", "江苏泗某")
    return [w for label in labels for w in REGIONS.resolve(label).warnings]


def _service_problems(url: str) -> list[Problem]:
    with transaction(url) as session:
        ml = ensure_default_list(session)
        topic = ml.topics[0].name
        upsert_subscription(session, ml, REGIONS, email="left@example.cn", status="unsubscribed")
        articles = "\n".join(
            [
                _record(title="未知栏目", topic="不存在的栏目"),
                _record(title="未知地区", topic=topic, regions=["火星"]),
                _record(title="部分地区", topic=topic, regions=["江苏沐阳", "火星"]),
            ]
        )
        stored = store_articles(
            session, ml, parse_jsonl(articles, "week.jsonl"), REGIONS, source="week.jsonl", published=WHEN
        )
        rows = "\n".join(
            [
                "email,name,regions,topics,status",
                "a@example.cn,甲,湖南,,confirmed,extra",
                ",乙,湖南,,",
                "not-an-address,丙,湖南,,",
                "d@example.cn,丁,湖南,,maybe",
                "e@example.cn,戊,湖南,不存在的栏目,",
                "f@example.cn,己,火星,,",
                "g@example.cn,庚,江苏沐阳,,",
                "left@example.cn,辛,湖南,,",
            ]
        )
        api = add_articles(
            session,
            ml,
            [json.loads(_record(topic="不存在的栏目")), json.loads(_record(topic=topic, regions=["火星"]))],
            REGIONS,
        )
        found = [p for o in api for p in o.problems]
    imported = import_text(url, rows)
    no_email = import_text(url, "name\n甲\n")
    with refusing(url, "stop@example.cn"):
        stopped = import_text(url, "email\nstop@example.cn\n")
    return stored.problems + imported.problems + no_email.problems + stopped.problems + found


# Worded for the day a Python's csv reader fails otherwise; today a non-strict reader over text
# fails on nothing but a cell over its size limit (fuzzed), which has a code of its own. Likewise an article
# left with no region and no label's error to say why: the parsers refuse empty regions, and every label a
# region index refuses comes with its own error, so the catch-all is never the only word.
NOT_CRAFTABLE = {"csv_bad_row", "regions_none_known"}


def _catalogued_codes() -> set[str]:
    return {key.removeprefix(PREFIX) for key in CATALOGUE["en"] if key.startswith(PREFIX)} - NOT_CRAFTABLE


def test_every_problem_from_bad_input_is_coded_and_worded_in_both_languages(database_url):
    problems = _parser_problems() + _region_warnings() + _service_problems(database_url)
    uncoded = [str(p) for p in problems if getattr(p, "code", None) is None]
    assert not uncoded
    codes = {p.code for p in problems}
    missing = {c for c in codes if PREFIX + c not in CATALOGUE["zh-CN"] or PREFIX + c not in CATALOGUE["en"]}
    assert not missing
    for p in problems:
        chinese, english = worded(p, "zh-CN"), worded(p, "en")
        english_text = getattr(p, "message", None) or str(p)
        assert chinese != english_text and re.search(r"[\u4e00-\u9fff]", chinese), (p.code, chinese)
        # Names from the input (邮箱, file extensions) may be Latin; whole English phrases may not.
        assert not LATIN_WORDS.search(chinese), (p.code, chinese)
        assert english and english != chinese, p.code
    # The walk covers the catalogue, so a code added without a crafted input fails here.
    assert codes == _catalogued_codes()


def test_a_problem_without_a_code_falls_back_to_its_english_message():
    assert worded(Problem("something odd"), "zh-CN") == "something odd"
    assert worded(Problem("x", code="no_such_code"), "en") == "x"
    typo = REGIONS.resolve("江苏沐阳").warnings[0]
    assert worded(typo, "zh-CN") == "“江苏沐阳”按江苏省宿迁市沭阳县理解（江苏省没有名为“沐阳”的地区）。"
    assert str(typo) == "江苏沐阳: read as 江苏省宿迁市沭阳县 (no division named 沐阳 in 江苏省)"


def test_problem_params_keep_problems_hashable():
    one = Problem("m", code="field_missing", params={"field": "title"})
    assert one.params == (("field", "title"),) and hash(one) == hash(
        Problem("m", code="field_missing", params=(("field", "title"),))
    )


def _calls(name: str):
    for path in DIGEST.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                yield path.relative_to(DIGEST), node


def test_every_problem_and_region_warning_the_code_creates_names_a_code():
    problems = list(_calls("Problem"))
    warnings = list(_calls("RegionWarning"))
    assert len(problems) > 20 and len(warnings) >= 7
    assert [f"{p}:{n.lineno}" for p, n in problems if "code" not in {k.arg for k in n.keywords}] == []
    assert [f"{p}:{n.lineno}" for p, n in warnings if len(n.args) < 2] == []
