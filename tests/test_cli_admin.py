"""`digest admin …` run as a user runs it, against the web app over the same database: offboarding
(password change, disable, enable), token listing, expiry and scope."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from test_cli import run

from digest.adapters.storage.db import transaction
from digest.services.admins import create_api_token, get_admin
from digest.web import create_app

ADMIN = "zhou.admin@example.cn"
PASSWORD = "zhou-admin-passphrase"


@pytest.fixture
def deployment(tmp_path):
    """An initialised SQLite database with one admin, and the web app over it."""
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    env = {"DIGEST_DATABASE_URL": url}
    run(["init"], cwd=tmp_path, env_extra=env)
    run(["admin", "create", ADMIN, "--password-stdin"], cwd=tmp_path, env_extra=env, input=PASSWORD + "\n")
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        yield tmp_path, env, client


def admin(deployment, *args: str, stdin: str | None = None) -> str:
    cwd, env, _ = deployment
    return run(["admin", *args], cwd=cwd, env_extra=env, input=stdin).stdout


def api_get(client: TestClient, token: str) -> int:
    return client.get("/api/v1/lists", headers={"Authorization": f"Bearer {token}"}).status_code


def sign_in(client: TestClient, password: str = PASSWORD) -> int:
    page = client.get("/admin/login").text
    csrf = re.findall(r'name="csrf_token" value="([^"]+)"', page)[0]
    form = {"email": ADMIN, "password": password, "next": "/admin/", "csrf_token": csrf}
    return client.post("/admin/login", data=form, follow_redirects=False).status_code


def test_a_password_change_revokes_the_admins_api_tokens_and_says_so(deployment):
    _, _, client = deployment
    token = admin(deployment, "token", ADMIN, "--name", "cms import").strip()
    assert api_get(client, token) == 200
    out = admin(deployment, "password", ADMIN, "--password-stdin", stdin="a-brand-new-passphrase\n")
    assert "1 API token(s) revoked" in out
    assert api_get(client, token) == 401
    assert "revoked" in admin(deployment, "tokens", ADMIN)


def test_a_password_change_may_keep_the_tokens_when_asked(deployment):
    _, _, client = deployment
    token = admin(deployment, "token", ADMIN, "--name", "cms import").strip()
    out = admin(deployment, "password", ADMIN, "--password-stdin", "--keep-tokens", stdin="a-brand-new-passphrase\n")
    assert "kept" in out and api_get(client, token) == 200


def test_a_disabled_admin_cannot_sign_in_and_their_session_and_tokens_stop(deployment):
    _, _, client = deployment
    token = admin(deployment, "token", ADMIN, "--name", "cms import").strip()
    browser = TestClient(client.app)
    assert sign_in(browser) == 303
    assert browser.get("/admin/", follow_redirects=False).status_code == 200
    assert "disabled" in admin(deployment, "disable", ADMIN)
    assert browser.get("/admin/", follow_redirects=False).status_code == 303
    assert api_get(client, token) == 401
    assert sign_in(TestClient(client.app)) == 401
    assert "disabled" in admin(deployment, "list")
    admin(deployment, "enable", ADMIN)
    assert sign_in(TestClient(client.app)) == 303
    # The session that was open when the account was disabled stays ended.
    assert browser.get("/admin/", follow_redirects=False).status_code == 303


def test_tokens_lists_id_name_dates_expiry_and_scope(deployment):
    _, _, client = deployment
    read = admin(deployment, "token", ADMIN, "--name", "dashboard", "--scope", "read").strip()
    admin(deployment, "token", ADMIN, "--name", "forever", "--expires-in-days", "0")
    admin(deployment, "token", ADMIN, "--name", "weekly job", "--expires-in-days", "7")
    assert api_get(client, read) == 200
    header, *rows = admin(deployment, "tokens", ADMIN).splitlines()
    assert header.split("\t") == ["id", "name", "created", "last used", "expires", "scope", "state"]
    table = [row.split("\t") for row in rows]
    assert [(r[0], r[1], r[5], r[6]) for r in table] == [
        ("1", "dashboard", "read", "active"),
        ("2", "forever", "write", "active"),
        ("3", "weekly job", "write", "active"),
    ]
    assert table[0][3] != "-" and table[1][3] == "-"  # only the used token has a last use
    assert table[1][4] == "never" and table[2][4] != "never"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d\+00:00", r[2]) for r in table)


def test_a_bad_expiry_or_scope_is_a_clear_error(deployment):
    cwd, env, _ = deployment
    for args, field in ((["--expires-in-days", "-1"], "--expires-in-days"), (["--scope", "admin"], "--scope")):
        result = run(["admin", "token", ADMIN, "--name", "x", *args], cwd=cwd, env_extra=env, check=False)
        assert result.returncode == 2 and field in result.stderr


def test_tokens_says_which_have_expired(deployment):
    _, env, client = deployment
    with transaction(env["DIGEST_DATABASE_URL"]) as session:
        old = create_api_token(
            session, get_admin(session, ADMIN), "last year", days=30, now=datetime(2025, 1, 1, tzinfo=UTC)
        )
    assert api_get(client, old) == 401
    [row] = admin(deployment, "tokens", ADMIN).splitlines()[1:]
    assert row.split("\t")[1:2] + row.split("\t")[6:] == ["last year", "expired"]
