"""CSV articles: same fields as JSON Lines, physical line numbers, header checks."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from digest.core.ingest import IngestFormatError, parse_file, parse_text
from digest.core.ingest.csvfile import parse_csv

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHINA = timezone(timedelta(hours=8))
HEADER = "title,body,topic,regions,published\n"


@pytest.fixture(scope="module")
def result():
    return parse_file(FIXTURES / "articles.csv")


def test_good_rows_are_kept(result):
    titles = ["隆回金银花进入采摘季", "汉滨区社区工厂扩招", "缺少地区的一行", "桂林积分超市"]
    assert [a.title for a in result.articles] == titles
    # An empty regions cell leaves them to the tagger when the article is stored (services/placing.py).
    assert result.articles[2].regions == () and result.articles[2].region_label == ""
    first = result.articles[0]
    assert first.regions == ("湖南", "邵阳")
    assert first.region_label == "湖南、邵阳"
    assert first.source == "乡村振兴周报"
    assert first.url == "https://example.org/a/1"
    assert first.published == datetime(2021, 6, 15, tzinfo=CHINA)
    assert result.articles[1].published == datetime(2021, 6, 16, 9, 30, tzinfo=CHINA)
    assert result.articles[1].source is None and result.articles[1].url is None


def test_line_numbers_count_multiline_cells(result):
    assert [a.line for a in result.articles] == [2, 3, 6, 7]


def test_multiline_cell_becomes_paragraphs_and_is_sanitised(result):
    body = result.articles[1].body_html
    assert body == "<p>第一段。</p>\n<p>第二段也在同一个单元格。</p>"


def test_html_cell_is_sanitised(result):
    body = result.articles[3].body_html
    assert '<img src="https://example.org/p.png">' in body
    assert "onerror" not in body and "alert" not in body


def test_rows_with_missing_fields_are_reported(result):
    found = [(p.line, p.field, p.severity) for p in result.problems]
    assert found == [(8, "published", "error")]  # a short row: its regions are the tagger's, its date is missing
    assert all(p.source == str(FIXTURES / "articles.csv") for p in result.problems)


def test_wrong_header_is_a_format_error():
    with pytest.raises(IngestFormatError) as exc:
        parse_file(FIXTURES / "wrong-format.csv")
    problem = exc.value.problem
    assert problem.line == 1
    assert problem.field == "title"
    assert "title" in problem.message and "body" in problem.message


def test_published_column_may_be_absent_with_a_default():
    text = "title,body,topic,regions\n标题,正文。,产业发展,浙江\n"
    with pytest.raises(IngestFormatError, match="published"):
        parse_csv(text, "x.csv")
    (article,) = parse_csv(text, "x.csv", datetime(2021, 6, 18, 12, 0)).articles
    assert article.published == datetime(2021, 6, 18, 12, 0, tzinfo=CHINA)


def test_empty_published_cell_uses_the_default():
    text = HEADER + "标题,正文。,产业发展,浙江,\n"
    assert parse_csv(text, "x.csv").problems[0].field == "published"
    assert len(parse_csv(text, "x.csv", datetime(2021, 6, 18)).articles) == 1


def test_extra_cells_are_an_error():
    text = HEADER + "标题,正文,多出来,产业发展,浙江,2021-06-15\n"
    result = parse_csv(text, "x.csv")
    assert result.articles == ()
    assert result.problems[0].line == 2


def test_blank_and_empty_rows_are_skipped_but_counted():
    text = HEADER + "\n,,,,\n标题,正文。,产业发展,浙江,2021-06-15\n"
    (article,) = parse_csv(text, "x.csv").articles
    assert article.line == 4


def test_script_in_any_cell_never_reaches_body_html():
    text = (
        HEADER
        + '标题,"<p>好</p><script>alert(1)</script><a href=""javascript:alert(2)"">x</a>",产业发展,浙江,2021-06-15\n'
    )
    (article,) = parse_csv(text, "x.csv").articles
    assert "script" not in article.body_html and "javascript" not in article.body_html


def test_semicolon_separated_regions_are_accepted():
    text = HEADER + '标题,正文。,产业发展,"湖南;怀化",2021-06-15\n'
    assert parse_csv(text).articles[0].regions == ("湖南", "怀化")


def test_csv_is_sniffed_from_stdin():
    result = parse_text(HEADER + "标题,正文。,产业发展,浙江,2021-06-15\n", "<stdin>")
    assert len(result.articles) == 1


def test_non_utf8_csv_is_a_format_error(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((HEADER + "标题,正文。,产业发展,浙江,2021-06-15\n").encode("gbk"))
    with pytest.raises(IngestFormatError) as exc:
        parse_file(path)
    assert exc.value.problem.line == 2
