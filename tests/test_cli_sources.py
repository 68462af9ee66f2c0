"""`digest sources …` run as a user runs it: a real process, a real database, feeds from a loopback server."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from feedserver import Route, feed_server, rss
from sqlalchemy import select

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction

DIGEST = [sys.executable, "-m", "digest.cli"]
ITEMS = [
    {"title": "怀化柑橘丰收", "link": "https://news.example.org/1", "guid": "n-1", "description": "<p>丰收。</p>"},
    {"title": "湖南乡村道路", "link": "https://news.example.org/2", "description": "<p>修路。</p>"},
]


def run(args, cwd, url, check=True):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update({"DIGEST_DATABASE_URL": url, "DIGEST_NOW": "2026-11-20T08:00:00+00:00"})
    result = subprocess.run(DIGEST + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_every_sources_command_has_help(tmp_path):
    for args in (
        ["sources"],
        *[["sources", name] for name in ("add", "test", "list", "pause", "resume", "remove", "poll")],
    ):
        out = run([*args, "--help"], tmp_path, f"sqlite:///{tmp_path / 'digest.db'}").stdout
        assert "Usage:" in out
    add = run(["sources", "add", "--help"], tmp_path, f"sqlite:///{tmp_path / 'digest.db'}").stdout
    assert all(flag in add for flag in ("--list", "--topic", "--regions", "--interval", "--allow-private"))


@pytest.mark.clock
def test_add_poll_list_pause_resume_remove(database_url, tmp_path):
    run(["init"], tmp_path, database_url)
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        added = run(
            [
                "sources",
                "add",
                server.url("/rss.xml"),
                "--topic",
                "产业发展",
                "--regions",
                "湖南,怀化",
                "--interval",
                "30",
                "--allow-private",
            ],
            tmp_path,
            database_url,
        )
        run(
            ["sources", "add", server.url("/other.xml"), "--topic", "industry", "--regions", "湖南"],
            tmp_path,
            database_url,
        )
        polled = run(["sources", "poll"], tmp_path, database_url, check=False)
        again = run(["sources", "poll", "--source", "1"], tmp_path, database_url)
        asked = server.paths()
    assert "added source 1 to rural-weekly" in added.stdout and "every 30 min" in added.stdout
    assert "regions 430000,431200" in added.stdout
    assert polled.returncode == 1
    first, second = polled.stdout.splitlines()[1:3]
    # status, new, to review, updated, unchanged, kept, errors
    assert first.split()[2:] == ["200", "2", "0", "0", "0", "0", "0"]
    assert second.split()[2:5] == ["no", "answer", "0"]
    assert "source 2: 127.0.0.1 is a loopback address: refused unless an admin allows" in polled.stderr
    assert again.stdout.splitlines()[1].split()[2:] == ["200", "0", "0", "0", "2", "0", "0"]
    assert asked == ["/rss.xml", "/rss.xml"]  # the refused source asked nothing
    with transaction(database_url) as session:
        stored = session.execute(select(models.Article.title, models.Article.source).order_by(models.Article.id))
        assert stored.all() == [("怀化柑橘丰收", "三农新闻"), ("湖南乡村道路", "三农新闻")]

    listed = run(["sources", "list"], tmp_path, database_url).stdout.splitlines()
    assert listed[0].split() == ["id", "list", "url", "paused", "last", "fetch", "status", "error"]
    assert listed[1].split()[:7] == ["1", "rural-weekly", server.url("/rss.xml"), "no", "2026-11-20", "08:00", "UTC"]
    assert listed[1].split()[7] == "200" and "loopback address" in listed[2]

    assert "paused" in run(["sources", "pause", "1"], tmp_path, database_url).stdout
    assert run(["sources", "list"], tmp_path, database_url).stdout.splitlines()[1].split()[3] == "paused"
    assert "resumed" in run(["sources", "resume", "1"], tmp_path, database_url).stdout
    assert "its articles stay" in run(["sources", "remove", "2"], tmp_path, database_url).stdout
    assert [line.split()[0] for line in run(["sources", "list"], tmp_path, database_url).stdout.splitlines()] == [
        "id",
        "1",
    ]


def test_bad_input_is_refused_in_one_line(sqlite_url, tmp_path):
    run(["init"], tmp_path, sqlite_url)
    refused = run(["sources", "add", "file:///etc/passwd", "--topic", "天气"], tmp_path, sqlite_url, check=False)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "URL: 'file:///etc/passwd': only http and https feeds are fetched" in refused.stderr
    assert "--topic: '天气' is not a topic of this list" in refused.stderr
    missing = run(["sources", "pause", "99"], tmp_path, sqlite_url, check=False)
    assert missing.returncode == 1 and "no source with id 99" in missing.stderr
    with transaction(sqlite_url) as session:
        assert session.scalars(select(models.Source)).all() == []


def test_testing_a_source_shows_its_items_and_stores_nothing(sqlite_url, tmp_path):
    run(["init"], tmp_path, sqlite_url)
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("三农新闻", ITEMS))
        tried = run(["sources", "test", server.url("/rss.xml"), "--allow-private"], tmp_path, sqlite_url)
        refused = run(["sources", "test", server.url("/rss.xml")], tmp_path, sqlite_url, check=False)
        asked = server.paths()
    assert tried.stdout.splitlines() == [f"{server.url('/rss.xml')}: 三农新闻", "  怀化柑橘丰收", "  湖南乡村道路"]
    assert refused.returncode == 1 and "loopback address" in refused.stderr and "Traceback" not in refused.stderr
    assert asked == ["/rss.xml"]  # the refused test asked nothing
    with transaction(sqlite_url) as session:
        assert (
            session.scalars(select(models.Source)).all() == [] and session.scalars(select(models.Article)).all() == []
        )
