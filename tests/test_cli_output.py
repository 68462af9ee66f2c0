"""What the `digest` console script prints, run as a user runs it: tables aligned on a terminal whatever the
script of the names, the lists commands, and warnings that never land on the progress bar's line."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import pytest
from test_cli import DIGEST, run
from wcwidth import wcswidth


@pytest.fixture
def initialised(tmp_path):
    run(["init"], cwd=tmp_path)
    return tmp_path


def test_subscribers_list_lines_up_chinese_and_latin_names(initialised):
    for email, name in (("a@example.org", "李伟"), ("long.address@example.org", "Bob"), ("c@example.cn", "欧阳娜娜")):
        run(["subscribers", "add", email, "--name", name, "--regions", "湖南", "--confirmed"], cwd=initialised)
    lines = run(["subscribers", "list"], cwd=initialised).stdout.splitlines()
    assert lines[0].split() == ["email", "name", "status", "regions", "topics"] and len(lines) == 4
    # Each column starts at the same terminal column on every line: a Chinese character takes two.
    for word in ("status", "regions"):
        header_at = wcswidth(lines[0][: lines[0].index(word)])
        cell = "confirmed" if word == "status" else "湖南"
        assert [wcswidth(line[: line.index(cell)]) for line in lines[1:]] == [header_at] * 3, word


def test_lists_create_list_and_show(initialised):
    created = run(
        [
            "lists",
            "create",
            "farm",
            "--name",
            "农业周报",
            "--sender-email",
            "news@example.org",
            "--language",
            "en",
            "--weekday",
            "friday",
            "--time",
            "7:30",
            "--rate",
            "5",
            "--topics",
            "crops:种植,pigs:养殖",
            "--article-text",
            "full",
            "--bounce-domain",
            "bounce.example.org",
            "--bounce-threshold",
            "3",
        ],
        cwd=initialised,
    )
    assert "created list farm (农业周报)" in created.stdout
    run(["subscribers", "add", "a@example.org", "--list", "farm", "--confirmed"], cwd=initialised)
    listed = run(["lists", "list"], cwd=initialised).stdout.splitlines()
    assert [line.split() for line in listed] == [
        ["slug", "name", "language", "subscribers"],
        ["farm", "农业周报", "en", "1"],
        ["rural-weekly", "乡村振兴周报", "zh-CN", "0"],
    ]
    assert wcswidth(listed[1][: listed[1].index("en")]) == wcswidth(listed[2][: listed[2].index("zh-CN")])
    shown = {
        line.split(None, 1)[0]: line.split(None, 1)[1:]
        for line in run(["lists", "show", "farm"], cwd=initialised).stdout.splitlines()
    }
    assert shown["sender_email"] == ["news@example.org"] and shown["weekday"] == ["friday"]
    assert shown["time"] == ["07:30"] and shown["rate_limit"] == ["5/s"] and shown["language"] == ["en"]
    assert shown["topics"] == ["crops (种植), pigs (养殖)"] and shown["subscribers"] == [
        "0 pending, 1 confirmed, 0 unsubscribed"
    ]
    assert shown["article_text"] == ["full"]
    assert shown["bounce_domain"] == ["bounce.example.org"] and shown["bounce_threshold"] == ["3.0"]
    default = run(["lists", "show", "rural-weekly"], cwd=initialised).stdout.splitlines()
    assert [line.split() for line in default if line.startswith("article_text")] == [["article_text", "lead"]]


def test_lists_create_refuses_an_unknown_article_text_naming_the_option(initialised):
    bad = run(
        ["lists", "create", "farm", "--name", "x", "--sender-email", "a@example.org", "--article-text", "summary"],
        cwd=initialised,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--article-text" in bad.stderr and "'summary' is not one of 'lead', 'full'" in bad.stderr


def test_lists_create_refuses_what_the_list_form_refuses_naming_each_option(initialised):
    bad = run(
        [
            "lists",
            "create",
            "Bad_Slug",
            "--name",
            "x",
            "--sender-email",
            "nope",
            "--tz",
            "Mars/Olympus",
            "--rate",
            "-1",
            "--weekday",
            "someday",
        ],
        cwd=initialised,
        check=False,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    for said in (
        "SLUG: 'Bad_Slug' is not a slug",
        "--sender-email: is not a valid email address",
        "--tz: 'Mars/Olympus' is not a time zone",
        "--rate: is a number from 0",
        "--weekday: is a day",
    ):
        assert said in bad.stderr, said
    taken = run(
        ["lists", "create", "rural-weekly", "--name", "x", "--sender-email", "a@example.org"],
        cwd=initialised,
        check=False,
    )
    assert taken.returncode == 2 and "there is a list with the slug 'rural-weekly' already" in taken.stderr
    assert [line.split()[0] for line in run(["lists", "list"], cwd=initialised).stdout.splitlines()] == [
        "slug",
        "rural-weekly",
    ]


def _on_a_terminal(args, cwd) -> str:
    """Standard error of `digest ARGS` written to a pseudo-terminal, as a person running it sees it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")} | {"COLUMNS": "100"}
    ours, theirs = pty.openpty()
    process = subprocess.Popen(DIGEST + args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=theirs)
    os.close(theirs)
    seen = b""
    while True:
        try:
            chunk = os.read(ours, 4096)
        except OSError:  # the other end closed: Linux says EIO
            break
        if not chunk:
            break
        seen += chunk
    process.wait(timeout=60)
    os.close(ours)
    return seen.decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals")
def test_a_warning_during_the_progress_bar_gets_a_line_of_its_own(initialised):
    bad = initialised / "bad.jsonl"
    bad.write_text(
        '{"title": "火星新闻", "body": "正文", "topic": "产业发展", "regions": ["火星"]}\n', encoding="utf-8"
    )
    good = initialised / "good.jsonl"
    good.write_text('{"title": "好文章", "body": "正文", "topic": "产业发展", "regions": ["湖南"]}\n', encoding="utf-8")
    screen = _on_a_terminal(["ingest", str(bad), str(good)], initialised)
    assert "ingesting" in screen  # the bar was drawn: this is a terminal
    at = screen.index(f"{bad}:1: regions")
    # The bar's line is wiped (carriage return, erase line) or ended before the warning starts.
    before = screen[:at].replace("\x1b[0m", "").replace("\x1b[31m", "").replace("\x1b[33m", "")
    assert before.endswith(("\r\x1b[K", "\n")), repr(before[-60:])


def test_lists_create_refuses_a_bounce_domain_that_is_none_naming_the_option(initialised):
    bad = run(
        ["lists", "create", "farm", "--name", "x", "--sender-email", "a@example.org", "--bounce-domain", "no such"],
        cwd=initialised,
        check=False,
    )
    assert bad.returncode == 2 and "--bounce-domain: 'no such' is not a domain name" in bad.stderr
