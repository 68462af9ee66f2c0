"""DIGEST_TEMPLATES_DIR replaces the mail templates and the web pages alike; without it the shipped ones are used."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from fixtures_db import make_settings

from digest.core.rendering import make_environment, templates_dir
from digest.core.settings import ConfigError
from digest.web import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_without_the_variable_the_checkout_templates_are_used(monkeypatch):
    monkeypatch.delenv("DIGEST_TEMPLATES_DIR", raising=False)
    assert templates_dir() == ROOT / "templates"


def test_the_override_changes_mail_pages_and_static_files(tmp_path, monkeypatch):
    custom = tmp_path / "custom"
    shutil.copytree(ROOT / "templates", custom)
    (custom / "digest.subject.txt").write_text("our own subject", encoding="utf-8")
    base = custom / "web" / "base.html"
    base.write_text(base.read_text(encoding="utf-8").replace("<head>", "<head><!-- our own page -->", 1), "utf-8")
    with open(custom / "web" / "static" / "web.css", "a", encoding="utf-8") as css:
        css.write("\n/* our own stylesheet */\n")
    monkeypatch.setenv("DIGEST_TEMPLATES_DIR", str(custom))

    assert make_environment().get_template("digest.subject.txt").render() == "our own subject"
    settings = make_settings(f"sqlite:///{tmp_path / 'digest.db'}", tmp_path)
    with TestClient(create_app(settings)) as client:
        assert "our own stylesheet" in client.get("/static/web.css").text
        missing = client.get("/no-such-page")
        assert missing.status_code == 404 and "<!-- our own page -->" in missing.text


def test_an_override_that_is_not_a_directory_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_TEMPLATES_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(ConfigError, match="DIGEST_TEMPLATES_DIR"):
        make_environment()
