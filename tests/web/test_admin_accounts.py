"""The console's accounts page: staff accounts and their API tokens, managed by admins without a shell."""

from __future__ import annotations

import re

import pytest
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, api_token, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services import NotFound
from digest.services.accounts import revoke_token_of


def _user(url: str, email: str) -> models.AdminUser:
    with transaction(url) as session:
        user = session.scalar(select(models.AdminUser).where(models.AdminUser.email == email))
        session.expunge(user)
        return user


def _tokens(url: str, email: str) -> list[models.ApiToken]:
    with transaction(url) as session:
        rows = list(
            session.scalars(
                select(models.ApiToken).join(models.AdminUser).where(models.AdminUser.email == email).order_by("id")
            )
        )
        session.expunge_all()
        return rows


def _as_admin(site):
    add_staff(site.url, ZHOU_ADMIN)
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, ZHOU_ADMIN)
    return _user(site.url, SUN_EDITOR.email).id


def _post(site, page_path: str, action: str, data: dict | None = None):
    page = site.client.get(page_path)
    token = form_csrf(page.text, action)
    return site.client.post(action, data={**(data or {}), "csrf_token": token}, follow_redirects=False)


def test_the_accounts_page_lists_every_account_and_its_live_tokens_and_editors_may_not_see_it(site):
    sun = _as_admin(site)
    api_token(site.url, SUN_EDITOR, "cms import")
    page = site.client.get("/admin/accounts")
    assert page.status_code == 200
    row = re.search(rf'<tr data-id="{sun}">(.*?)</tr>', page.text, re.DOTALL).group(1)
    assert SUN_EDITOR.email in row and "编辑" in row and "正常" in row and "<td>1</td>" in row
    assert 'href="/admin/accounts"' in site.client.get("/admin/").text
    editor = site.new_client()
    sign_in(editor, SUN_EDITOR)
    assert editor.get("/admin/accounts").status_code == 403
    assert editor.get(f"/admin/accounts/{sun}").status_code == 403
    assert 'href="/admin/accounts"' not in editor.get("/admin/").text


def test_an_admin_adds_an_account_who_can_then_sign_in(site):
    _as_admin(site)
    added = _post(
        site,
        "/admin/accounts",
        "/admin/accounts",
        {"email": "Li.Editor@Example.cn", "role": "editor", "password": "li-editor-passphrase"},
    )
    assert added.status_code == 303 and added.headers["location"] == "/admin/accounts?done=added"
    li = _user(site.url, "li.editor@example.cn")
    assert li.role == "editor" and li.password_hash.startswith("$argon2id$")
    assert (
        sign_in(
            site.new_client(), SUN_EDITOR.__class__("li.editor@example.cn", "li-editor-passphrase", "editor")
        ).status_code
        == 303
    )
    short = _post(
        site, "/admin/accounts", "/admin/accounts", {"email": "x@example.cn", "role": "editor", "password": "short"}
    )
    assert short.status_code == 400 and "密码至少需要 10 个字符" in short.text
    again = _post(
        site,
        "/admin/accounts",
        "/admin/accounts",
        {"email": "li.editor@example.cn", "role": "admin", "password": "x" * 12},
    )
    assert again.status_code == 400 and "已有使用这个邮箱的账户" in again.text
    assert _user(site.url, "li.editor@example.cn").role == "editor"


def test_a_token_made_in_the_console_is_shown_once_works_and_is_revoked_there(site):
    sun = _as_admin(site)
    page_path = f"/admin/accounts/{sun}"
    made = _post(
        site, page_path, f"/admin/accounts/{sun}/tokens", {"name": "cms import", "scope": "read", "days": "30"}
    )
    assert made.status_code == 200
    secret = re.search(r'<code id="token-secret">([^<]+)</code>', made.text).group(1)
    assert secret.startswith("dgt_")
    # Works, as a read token acting as the editor; the page never shows it again.
    api = site.new_client()
    assert api.get("/api/v1/lists", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    again = site.client.get(page_path)
    assert secret not in again.text and "cms import" in again.text and "只读" in again.text
    [row] = _tokens(site.url, SUN_EDITOR.email)
    assert row.scope == "read" and row.expires_at is not None and secret not in row.token_hash
    revoked = _post(site, page_path, f"/admin/accounts/{sun}/tokens/{row.id}/revoke")
    assert revoked.status_code == 303
    assert _tokens(site.url, SUN_EDITOR.email)[0].revoked_at is not None
    assert api.get("/api/v1/lists", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "已撤销" in site.client.get(page_path).text


def test_a_token_of_another_account_cannot_be_revoked_through_this_ones_page(site):
    sun = _as_admin(site)
    api_token(site.url, ZHOU_ADMIN, "zhou's own")
    [zhou_token] = _tokens(site.url, ZHOU_ADMIN.email)
    # A token for the form of Sun's page, posted with the id of Zhou's token.
    api_token(site.url, SUN_EDITOR, "sun's")
    [sun_token] = _tokens(site.url, SUN_EDITOR.email)
    page = site.client.get(f"/admin/accounts/{sun}")
    csrf = form_csrf(page.text, f"/admin/accounts/{sun}/tokens/{sun_token.id}/revoke")
    refused = site.client.post(
        f"/admin/accounts/{sun}/tokens/{zhou_token.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert refused.status_code == 403  # the form's token names another token
    # Past the form, the service refuses too: one account's page never touches another's tokens.
    with transaction(site.url) as session, pytest.raises(NotFound):
        revoke_token_of(session, session.get(models.AdminUser, sun), zhou_token.id)
    assert _tokens(site.url, ZHOU_ADMIN.email)[0].revoked_at is None


def test_disabling_ends_the_accounts_sessions_and_stops_its_tokens_until_enabled(site):
    sun = _as_admin(site)
    secret = api_token(site.url, SUN_EDITOR, "cms")
    editor = site.new_client()
    sign_in(editor, SUN_EDITOR)
    assert editor.get("/admin/articles").status_code == 200
    page_path = f"/admin/accounts/{sun}"
    assert _post(site, page_path, f"/admin/accounts/{sun}/access", {"disabled": "1"}).status_code == 303
    assert _user(site.url, SUN_EDITOR.email).disabled
    assert editor.get("/admin/articles", follow_redirects=False).status_code == 303  # signed out
    bearer = {"Authorization": f"Bearer {secret}"}
    assert site.new_client().get("/api/v1/lists", headers=bearer).status_code == 401
    assert "已停用" in site.client.get(page_path).text
    # The enable form is the one the page now shows: the same action, disabled=0.
    assert _post(site, page_path, f"/admin/accounts/{sun}/access", {"disabled": "0"}).status_code == 303
    assert not _user(site.url, SUN_EDITOR.email).disabled
    assert site.new_client().get("/api/v1/lists", headers=bearer).status_code == 200


def test_the_last_enabled_admin_can_be_neither_disabled_nor_made_an_editor(site):
    _as_admin(site)
    zhou = _user(site.url, ZHOU_ADMIN.email).id
    page_path = f"/admin/accounts/{zhou}"
    for change in ({"disabled": "1"}, {"role": "editor"}):
        refused = _post(site, page_path, f"/admin/accounts/{zhou}/access", change)
        assert refused.status_code == 400 and "最后一个启用的管理员账户" in refused.text
        user = _user(site.url, ZHOU_ADMIN.email)
        assert user.role == "admin" and not user.disabled
    sun = _user(site.url, SUN_EDITOR.email).id
    assert _post(site, f"/admin/accounts/{sun}", f"/admin/accounts/{sun}/access", {"role": "admin"}).status_code == 303
    assert _user(site.url, SUN_EDITOR.email).role == "admin"
    # With a second admin, the first may step down.
    assert _post(site, page_path, f"/admin/accounts/{zhou}/access", {"role": "editor"}).status_code == 303
    assert _user(site.url, ZHOU_ADMIN.email).role == "editor"


def test_sign_out_everywhere_and_revoke_all_end_every_session_and_token(site):
    sun = _as_admin(site)
    secrets = [api_token(site.url, SUN_EDITOR, f"t{i}") for i in range(3)]
    editor = site.new_client()
    sign_in(editor, SUN_EDITOR)
    page_path = f"/admin/accounts/{sun}"
    assert _post(site, page_path, f"/admin/accounts/{sun}/sign-out").status_code == 303
    assert editor.get("/admin/articles", follow_redirects=False).status_code == 303
    assert _post(site, page_path, f"/admin/accounts/{sun}/revoke-tokens").status_code == 303
    assert all(t.revoked_at is not None for t in _tokens(site.url, SUN_EDITOR.email))
    for secret in secrets:
        assert site.new_client().get("/api/v1/lists", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_every_accounts_form_needs_its_csrf_token(site):
    sun = _as_admin(site)
    for action in (
        "/admin/accounts",
        f"/admin/accounts/{sun}/access",
        f"/admin/accounts/{sun}/sign-out",
        f"/admin/accounts/{sun}/tokens",
        f"/admin/accounts/{sun}/revoke-tokens",
    ):
        answer = site.client.post(action, data={"disabled": "1", "name": "x", "email": "a@b.cn", "password": "x" * 12})
        assert answer.status_code == 403, action
    assert not _user(site.url, SUN_EDITOR.email).disabled and _tokens(site.url, SUN_EDITOR.email) == []
