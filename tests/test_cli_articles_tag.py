"""`digest articles tag FILE.jsonl`, run as a user runs it: one JSON object per good line, in order, errors on
stderr with file and line, and not one row changed in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from test_cli import run

from digest.adapters.storage.db import make_engine
from digest.adapters.storage.models import Base

ARTICLES = "\n".join(
    [
        json.dumps(
            {"title": "沅陵县创办乡村振兴金融服务中心", "body": "<p>湖南省沅陵县为合作社提供担保贷款。</p>"},
            ensure_ascii=False,
        ),
        "not json at all",
        json.dumps({"body": "an article without its title"}),
        "",
        json.dumps({"title": "村民议事会化解矛盾", "body": "村里修订村规民约，调解矛盾纠纷。"}, ensure_ascii=False),
        json.dumps({"title": "国务院办公厅印发意见", "body": 42}, ensure_ascii=False),
        json.dumps({"title": "国家乡村振兴局部署防止返贫监测", "body": "要求各地做好帮扶。"}, ensure_ascii=False),
        json.dumps({"title": "中山路夜市开张", "body": "今日天气晴。"}, ensure_ascii=False),
    ]
)

EXPECTED_STDOUT = (
    '{"regions": ["431222"], "region_names": ["湖南沅陵"], "topic": "产业发展", "confidence": 0.62, '
    '"why": ["沅陵县", "湖南省", "金融 (6)", "合作社 (3)", "担保 (2)", "贷款 (2)"]}\n'
    '{"regions": [], "region_names": [], "topic": "基层治理", "confidence": 0.86, '
    '"why": ["no place named", "村民议事 (9)", "议事 (6)", "村规民约 (4)", "矛盾纠纷 (3)", "调解 (3)"]}\n'
    '{"regions": ["000000"], "region_names": ["全国"], "topic": "脱贫攻坚", "confidence": 0.66, '
    '"why": ["国家乡村振兴局 → 全国", "返贫 (9)", "防止返贫 (9)", "监测 (6)", "帮扶 (2)"]}\n'
    '{"regions": [], "region_names": [], "topic": null, "confidence": 0.0, '
    '"why": ["no place named", "no topic keyword"]}\n'
)


def row_counts(url: str) -> dict[str, int]:
    engine = make_engine(url, pooled=False)
    try:
        with engine.connect() as conn:
            return {t.name: conn.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


def test_tag_prints_one_object_per_good_line_reports_bad_ones_and_changes_nothing(database_url, tmp_path):
    env = {"DIGEST_DATABASE_URL": database_url}
    run(["init"], cwd=tmp_path, env_extra=env)
    (tmp_path / "in.jsonl").write_text(ARTICLES + "\n", encoding="utf-8")
    before = row_counts(database_url)

    result = run(["articles", "tag", "in.jsonl"], cwd=tmp_path, env_extra=env, check=False)

    assert row_counts(database_url) == before
    assert result.returncode == 1
    assert result.stdout == EXPECTED_STDOUT
    assert result.stderr.splitlines() == [
        "in.jsonl:2: error: not JSON: Expecting value (column 1)",
        "in.jsonl:3: title: error: missing: an article needs a title (a non-empty string)",
        "in.jsonl:6: body: error: must be a string (HTML or text)",
        "Error: in.jsonl: 3 line(s) not tagged",
    ]


def test_tag_chooses_among_the_topics_of_the_list_named(tmp_path):
    env = {"DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}"}
    run(["init"], cwd=tmp_path, env_extra=env)
    run(["lists", "create", "farm", "--name", "农事", "--topics", "crops:种植,herds:养殖"], cwd=tmp_path, env_extra=env)
    line = {"title": "养殖场扩建", "body": "合作社新建养殖场，养殖规模翻番。"}
    (tmp_path / "one.jsonl").write_text(json.dumps(line, ensure_ascii=False) + "\n", encoding="utf-8")

    default = json.loads(run(["articles", "tag", "one.jsonl"], cwd=tmp_path, env_extra=env).stdout)
    farm = json.loads(run(["articles", "tag", "one.jsonl", "--list", "farm"], cwd=tmp_path, env_extra=env).stdout)

    assert default["topic"] == "产业发展"
    assert farm["topic"] == "养殖"
    missing = run(["articles", "tag", "one.jsonl", "--list", "nope"], cwd=tmp_path, env_extra=env, check=False)
    assert missing.returncode == 1 and "no list with slug 'nope'" in missing.stderr and missing.stdout == ""
