"""The `digest` console script, run as a user runs it: a real process, a real database, a real outbox."""

from __future__ import annotations

import csv
import io
import mailbox
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from importutil import refusing
from samples import WEEKLY_ISSUE

from digest.adapters.storage.db import transaction
from digest.adapters.storage.models import Suppression

DIGEST = [sys.executable, "-m", "digest.cli"]


def run(args, cwd, env_extra=None, check=True, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(env_extra or {})
    result = subprocess.run(DIGEST + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, input=input)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_demo_fills_the_outbox_once(tmp_path):
    first = run(["demo"], cwd=tmp_path)
    box = mailbox.Maildir(tmp_path / "outbox", create=False)
    messages = list(box)
    assert len(messages) == 5  # six demo subscribers, one of whom matches nothing
    recipients = sorted(m["To"] for m in messages)
    assert not any("zhao.lei" in r for r in recipients)
    assert "zhao.lei@example.cn" in first.stdout and "skipped" in first.stdout
    assert str(tmp_path / "outbox") in first.stdout
    # every message lies where the table says
    for line in first.stdout.splitlines():
        if " sent " in f" {line} ":
            assert Path(line.split()[-1]).exists(), line

    second = run(["demo"], cwd=tmp_path)
    assert len(list(mailbox.Maildir(tmp_path / "outbox", create=False))) == 5
    assert "earlier run" in second.stdout


def test_demo_outbox_flag(tmp_path):
    run(["demo", "--outbox", str(tmp_path / "elsewhere")], cwd=tmp_path)
    assert len(list(mailbox.Maildir(tmp_path / "elsewhere", create=False))) == 5


def test_every_command_has_help(tmp_path):
    for args in (
        [],
        ["demo"],
        ["init"],
        ["ingest"],
        ["subscribers"],
        ["subscribers", "add"],
        ["subscribers", "import"],
        ["subscribers", "list"],
        ["subscribers", "export"],
        ["preview"],
        ["send"],
        ["status"],
        ["issues"],
        ["issues", "list"],
        ["issues", "show"],
        ["issues", "pause"],
        ["issues", "resume"],
        ["issues", "cancel"],
        ["issues", "retry"],
        ["lists", "schedule"],
        ["lists", "list"],
        ["lists", "show"],
        ["lists", "create"],
        ["admin", "password"],
        ["admin", "disable"],
        ["admin", "enable"],
        ["admin", "token"],
        ["admin", "tokens"],
    ):
        out = run([*args, "--help"], cwd=tmp_path).stdout
        assert "Usage:" in out


@pytest.fixture
def initialised(tmp_path):
    run(["init"], cwd=tmp_path)
    return tmp_path


def test_ingest_reports_bad_rows_and_keeps_good_ones(initialised):
    jsonl = initialised / "week.jsonl"
    jsonl.write_text(
        '{"title": "好文章", "body": "正文", "topic": "产业发展", "regions": ["湖南怀化"], "published": "2026-11-25"}\n'
        '{"title": "火星新闻", "body": "正文", "topic": "产业发展", "regions": ["火星"], "published": "2026-11-25"}\n'
        '{"title": "缺栏目", "body": "正文", "regions": ["浙江"], "published": "2026-11-25"}\n'
        '{"title": "这一篇不知道写的是哪里", "body": "正文", "topic": "产业发展", "published": "2026-11-25"}\n',
        encoding="utf-8",
    )
    result = run(["ingest", str(jsonl)], cwd=initialised, check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{jsonl}:2: regions" in result.stderr and "火星" in result.stderr
    # No topic, or no place: the tagger's to find; one it cannot place waits for an editor.
    assert "3 added (2 wait for review: /admin/review)" in result.stdout
    again = run(["ingest", str(jsonl)], cwd=initialised, check=False)
    assert "0 added, 3 already stored" in again.stdout


def test_ingest_offers_a_newsletters_footer_to_the_list(initialised):
    first = run(["ingest", str(WEEKLY_ISSUE), "--published", "2021-06-18"], cwd=initialised)
    assert "credits, contact address, postal address now fill list rural-weekly's, which had none" in first.stderr
    shown = run(["lists", "show", "rural-weekly"], cwd=initialised).stdout
    assert "制作: 乡村发展研究编辑部; 责任编辑: 林晓 周明; 审核: 郑华" in shown and "weekly@example.org" in shown
    # Another issue whose footer names another reviewer: the list keeps its credits, and the run says so.
    other = initialised / "next-issue.txt"
    other.write_text(WEEKLY_ISSUE.read_text(encoding="utf-8").replace("审核：郑华", "审核：王审"), encoding="utf-8")
    second = run(["ingest", str(other), "--published", "2021-06-18"], cwd=initialised)
    assert f"{other}: the file's credits differ from list rural-weekly's; not applied" in second.stderr
    assert "审核: 郑华" in run(["lists", "show", "rural-weekly"], cwd=initialised).stdout


def test_ingest_of_a_file_in_the_wrong_format_is_a_clear_error(initialised):
    wrong = initialised / "articles.jsonl"
    wrong.write_text("title,body\nx,y\n", encoding="utf-8")
    result = run(["ingest", str(wrong)], cwd=initialised, check=False)
    assert result.returncode == 1
    assert str(wrong) in result.stderr and "Traceback" not in result.stderr


def test_subscribers_add_rejects_a_malformed_address(initialised):
    result = run(["subscribers", "add", "not-an-address", "--regions", "湖南"], cwd=initialised, check=False)
    assert result.returncode != 0
    assert "not-an-address" in result.stderr and "Traceback" not in result.stderr


def test_subscribers_add_without_confirmed_mails_the_confirmation(initialised):
    result = run(["subscribers", "add", "new.reader@example.org", "--regions", "湖南"], cwd=initialised)
    assert "(pending)" in result.stdout and "confirmation mail sent to new.reader@example.org" in result.stdout
    [message] = list(mailbox.Maildir(initialised / "outbox", create=False))
    assert message["To"] == "new.reader@example.org"
    body = message.get_payload(0).get_payload(decode=True).decode()
    assert "http://localhost:8000/confirm/" in body
    # Confirmed by the admin: nothing to confirm, no mail.
    result = run(["subscribers", "add", "known@example.org", "--confirmed"], cwd=initialised)
    assert "confirmation" not in result.stdout and len(list(mailbox.Maildir(initialised / "outbox"))) == 1
    with transaction(f"sqlite:///{initialised / 'digest.db'}") as session:
        session.add(Suppression(email="Blocked@example.org", reason="complained"))
    result = run(["subscribers", "add", "blocked@example.org"], cwd=initialised)
    assert "suppression list: no confirmation mail sent" in result.stderr
    assert len(list(mailbox.Maildir(initialised / "outbox"))) == 1


def test_subscribers_import_keeps_good_rows_and_export_round_trips(initialised):
    source = initialised / "people.csv"
    source.write_text(
        "email,name,regions,topics\n"
        'a@example.org,甲,"湖南,全国",产业发展\n'
        "broken-address,乙,浙江,\n"
        'b@example.org,=HYPERLINK("http://evil"),火星,\n'
        "c@example.org,丙,甘肃临泽,\n",
        encoding="utf-8",
    )
    result = run(["subscribers", "import", str(source)], cwd=initialised, check=False)
    assert result.returncode == 1
    assert f"{source}:3: email" in result.stderr
    assert f"{source}:4: regions" in result.stderr
    assert "2 added" in result.stdout

    exported = run(["subscribers", "export"], cwd=initialised).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["email"] for r in rows] == ["a@example.org", "c@example.org"]
    assert rows[0]["regions"] == "湖南,全国" and rows[0]["topics"] == "产业发展"
    assert rows[1]["regions"] == "甘肃临泽" and rows[1]["status"] == "confirmed"


def test_an_import_the_database_stops_names_the_line_and_the_same_file_again_finishes(initialised):
    source = initialised / "many.csv"
    source.write_text(
        "email,name\n" + "".join(f"m{i:05d}@example.org,人{i}\n" for i in range(12_000)), encoding="utf-8"
    )
    url = f"sqlite:///{initialised / 'digest.db'}"
    with refusing(url, "m10001@example.org"):  # in the third chunk of 5,000
        stopped = run(["subscribers", "import", str(source)], cwd=initialised, check=False)
    assert stopped.returncode == 1 and "importing" in stopped.stderr
    assert f"{source}:10002: error: the import stopped at this line (refused by the test)" in stopped.stderr
    assert "10000 added, 0 updated, 0 row(s) rejected" in stopped.stdout
    again = run(["subscribers", "import", str(source)], cwd=initialised)
    assert "2000 added, 10000 updated, 0 row(s) rejected" in again.stdout
    exported = list(csv.DictReader(io.StringIO(run(["subscribers", "export"], cwd=initialised).stdout)))
    assert sorted(r["email"] for r in exported) == [f"m{i:05d}@example.org" for i in range(12_000)]


def test_export_defuses_spreadsheet_formulas(initialised):
    run(["subscribers", "add", "f@example.org", "--name", "=1+2", "--confirmed"], cwd=initialised)
    exported = run(["subscribers", "export"], cwd=initialised).stdout
    row = next(csv.DictReader(io.StringIO(exported)))
    assert row["name"] == "'=1+2"


def test_send_twice_delivers_each_message_once(initialised):
    ingested = run(["ingest", str(WEEKLY_ISSUE), "--published", "2021-06-18"], cwd=initialised)
    assert "14 added, 0 already stored, 0 rejected" in ingested.stdout
    run(["subscribers", "add", "li.wei@example.cn", "--regions", "湖南", "--confirmed"], cwd=initialised)
    run(["subscribers", "add", "wang.fang@example.cn", "--regions", "全国", "--confirmed"], cwd=initialised)
    first = run(["send", "--period-end", "2021-06-20"], cwd=initialised)
    assert "2 sent" in first.stdout
    second = run(["send", "--period-end", "2021-06-20"], cwd=initialised)
    assert "nothing left to send" in second.stdout
    assert len(list(mailbox.Maildir(initialised / "outbox", create=False))) == 2

    preview = run(["preview", "li.wei@example.cn", "--period-end", "2021-06-20"], cwd=initialised)
    assert "沅陵县乡镇设立金融服务站" in preview.stdout and "新邵县农村生活污水治理试点启动" in preview.stdout
    assert "提前下达衔接推进乡村振兴补助资金" not in preview.stdout


def test_unknown_list_is_a_readable_error(initialised):
    result = run(["send", "--list", "nope"], cwd=initialised, check=False)
    assert result.returncode == 1 and "no list with slug 'nope'" in result.stderr
    assert "Traceback" not in result.stderr


def test_issue_commands_steer_and_report(initialised):
    run(["subscribers", "add", "a@example.org", "--regions", "湖南", "--confirmed"], cwd=initialised)
    schedule = run(
        [
            "lists",
            "schedule",
            "rural-weekly",
            "--weekday",
            "fri",
            "--time",
            "07:30",
            "--tz",
            "Europe/Berlin",
            "--rate",
            "5",
            "--catch-up",
            "3",
        ],
        cwd=initialised,
    )
    assert "friday 07:30 Europe/Berlin, rate 5.0/s, on, catch-up 3 h" in schedule.stdout
    too_long = run(["lists", "schedule", "rural-weekly", "--catch-up", "200"], cwd=initialised, check=False)
    assert too_long.returncode == 2 and "--catch-up: is a number of hours from 0 to 144" in too_long.stderr
    shown = run(["lists", "show", "rural-weekly"], cwd=initialised).stdout.splitlines()
    assert [line.split() for line in shown if line.startswith("catch_up_hours")] == [["catch_up_hours", "3", "h"]]
    bad = run(["lists", "schedule", "rural-weekly", "--tz", "Mars/Olympus"], cwd=initialised, check=False)
    assert bad.returncode == 1 and "unknown time zone" in bad.stderr

    run(["send", "--period-end", "2026-11-29"], cwd=initialised)  # nothing matches: one skipped row
    listed = run(["issues", "list"], cwd=initialised).stdout
    assert "2026-11-23 – 2026-11-29  sent" in listed
    refused = run(["issues", "pause", "1"], cwd=initialised, check=False)
    assert refused.returncode == 1 and "only a planned or sending issue pauses" in refused.stderr
    status = run(["status"], cwd=initialised).stdout
    assert "friday 07:30 (Europe/Berlin" in status and "skipped           1" in status
    # The ledger keeps the skip's code; the CLI words it in English.
    with sqlite3.connect(initialised / "digest.db") as db:
        assert db.execute("SELECT status, reason FROM deliveries").fetchall() == [("skipped", "empty")]
    shown = run(["issues", "show", "1"], cwd=initialised).stdout
    assert "a@example.org" in shown and "no article this week matches their picks" in shown
    missing = run(["issues", "show", "9"], cwd=initialised, check=False)
    assert missing.returncode == 1 and "no issue number 9" in missing.stderr
