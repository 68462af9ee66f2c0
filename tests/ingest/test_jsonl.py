"""JSON Lines articles: good lines kept, each bad line reported with its line and field."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest.core.ingest import IngestFormatError, parse_file
from digest.core.ingest.jsonl import parse_jsonl

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHINA = timedelta(hours=8)


@pytest.fixture(scope="module")
def result():
    return parse_file(FIXTURES / "articles.jsonl")


def line(**fields) -> str:
    record = {"title": "标题", "body": "正文。", "topic": "产业发展", "regions": ["浙江"], "published": "2021-06-15"}
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not ...}, ensure_ascii=False)


def test_good_lines_are_kept(result):
    assert [a.title for a in result.articles] == [
        "隆回金银花进入采摘季",
        "汉滨区社区工厂扩招",
        "全国农村改厕工作推进会召开",
        "缺少主题",  # its topic is the tagger's, when it is stored
    ]
    first = result.articles[0]
    assert first.body_html == "<p>合作社按保底价收购鲜花。</p>\n<p>烘干后统一销售。</p>"
    assert first.topic == "产业发展"
    assert first.regions == ("湖南", "邵阳")
    assert first.region_label == "湖南、邵阳"
    assert first.source == "乡村振兴周报"
    assert first.url == "https://example.org/a/1"
    assert first.line == 1
    assert result.articles[2].line == 4  # the blank line 3 is skipped but counted
    assert result.articles[2].region_label == "全国"


def test_regions_string_is_split(result):
    assert result.articles[1].regions == ("陕西安康", "汉滨区")


def test_dates_become_aware(result):
    date_only, naive, utc, _ = (a.published for a in result.articles)
    assert date_only == datetime(2021, 6, 15, tzinfo=timezone(CHINA))
    assert date_only.utcoffset() == CHINA
    assert naive == datetime(2021, 6, 16, 9, 30, tzinfo=timezone(CHINA))
    assert utc == datetime(2021, 6, 17, 10, 0, tzinfo=UTC)


def test_each_bad_line_is_reported(result):
    found = [(p.line, p.field, p.severity, p.source) for p in result.problems]
    source = str(FIXTURES / "articles.jsonl")
    assert found == [
        (5, None, "error", source),  # invalid JSON
        (6, "title", "error", source),  # empty
        (8, "published", "error", source),  # not ISO
        (9, "regions", "error", source),  # wrong type
        (10, "url", "error", source),  # javascript:
        (11, None, "error", source),  # an array, not an object
    ]
    assert "invalid JSON" in result.problems[0].message


def test_html_body_is_sanitised(result):
    body = result.articles[1].body_html
    assert "<p>新增两条生产线。</p>" in body
    for bad in ("<script", "alert", "onerror", "onclick", "javascript"):
        assert bad not in body


def test_plain_text_body_with_markup_characters_is_escaped():
    (article,) = parse_jsonl(line(body="1 < 2 & 3 > 2")).articles
    assert article.body_html == "<p>1 &lt; 2 &amp; 3 &gt; 2</p>"


@pytest.mark.parametrize("regions", ["湖南，怀化、沅陵", "湖南, 怀化,沅陵", ["湖南", " 怀化 ", "沅陵"]])
def test_region_separators(regions):
    (article,) = parse_jsonl(line(regions=regions)).articles
    assert article.regions == ("湖南", "怀化", "沅陵")
    assert article.region_label == "湖南、怀化、沅陵"


def test_region_label_can_be_given():
    (article,) = parse_jsonl(line(regions=["湖南", "怀化"], region_label="湖南怀化")).articles
    assert article.region_label == "湖南怀化"


def test_missing_published_uses_the_default_or_is_an_error():
    text = line(published=...)
    assert parse_jsonl(text).articles == ()
    (problem,) = parse_jsonl(text, "x.jsonl").problems
    assert (problem.line, problem.field) == (1, "published")
    default = datetime(2021, 6, 18)
    (article,) = parse_jsonl(text, "x.jsonl", default).articles
    assert article.published == datetime(2021, 6, 18, tzinfo=timezone(CHINA))


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"title": ...}, "title"),
        ({"body": "   "}, "body"),
        ({"body": 3}, "body"),
        ({"regions": ["湖南", 4]}, "regions"),
        ({"published": "2021-13-01"}, "published"),
        ({"published": 20210615}, "published"),
        ({"url": "ftp://example.org/x"}, "url"),
        ({"source": ["a"]}, "source"),
        ({"body": "<script>alert(1)</script>"}, "body"),  # nothing left once sanitised
    ],
)
def test_bad_fields(fields, field):
    result = parse_jsonl(line(**fields), "x.jsonl")
    assert result.articles == ()
    assert [p.field for p in result.problems] == [field]


def test_not_json_lines_at_all_is_a_format_error():
    with pytest.raises(IngestFormatError) as exc:
        parse_file(FIXTURES / "not-json.jsonl")
    assert exc.value.problem.line == 1
    assert exc.value.problem.source.endswith("not-json.jsonl")


def test_ndjson_extension_and_bom(tmp_path):
    path = tmp_path / "a.ndjson"
    path.write_bytes(b"\xef\xbb\xbf" + line().encode() + b"\r\n")
    assert len(parse_file(path).articles) == 1
