"""Admin sign-in: argon2 passwords, sessions in the database that end on sign-out and password change."""

from __future__ import annotations

import dataclasses
import hashlib

import pytest
import redis
from fastapi.testclient import TestClient
from personas import SUN_EDITOR, ZHOU_ADMIN
from sqlalchemy import select
from webutil import add_staff, form_csrf, sign_in

from digest.adapters.storage import models
from digest.adapters.storage.db import transaction
from digest.services.sign_in import Limits
from digest.web import create_app
from digest.web.admin import ADMIN_COOKIE


def _sessions(url: str) -> list[models.AdminSession]:
    with transaction(url) as session:
        return list(session.scalars(select(models.AdminSession)))


def test_the_console_sends_a_stranger_to_the_sign_in_page_and_back(site):
    response = site.client.get("/admin/?days=30", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/admin/login?next=/admin/%3Fdays%3D30"


def test_an_admin_signs_in_and_only_a_hash_of_the_cookie_is_stored(site):
    add_staff(site.url, ZHOU_ADMIN)
    response = sign_in(site.client, ZHOU_ADMIN)
    assert response.status_code == 303 and response.headers["location"] == "/admin/"
    cookie = site.client.cookies[ADMIN_COOKIE]
    set_cookie = response.headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie and "Path=/admin" in set_cookie
    [row] = _sessions(site.url)
    assert row.id == hashlib.sha256(cookie.encode()).hexdigest() and cookie not in row.id
    page = site.client.get("/admin/")
    assert page.status_code == 200 and ZHOU_ADMIN.email in page.text
    with transaction(site.url) as session:
        user = session.scalar(select(models.AdminUser))
        assert user.password_hash.startswith("$argon2id$") and ZHOU_ADMIN.password not in user.password_hash
        assert user.last_login_at is not None


def test_a_wrong_password_and_an_unknown_email_get_the_same_answer(site):
    add_staff(site.url, ZHOU_ADMIN)
    wrong = sign_in(site.client, ZHOU_ADMIN.__class__(ZHOU_ADMIN.email, "not-the-password", "admin"))
    unknown = sign_in(site.new_client(), ZHOU_ADMIN.__class__("nobody@example.cn", "not-the-password", "admin"))
    assert wrong.status_code == unknown.status_code == 401
    assert ADMIN_COOKIE not in wrong.headers.get("set-cookie", "")
    assert ("邮箱或密码不正确" in wrong.text) and ("邮箱或密码不正确" in unknown.text)
    assert _sessions(site.url) == []


def test_sign_in_without_the_csrf_token_is_refused(site):
    add_staff(site.url, ZHOU_ADMIN)
    site.client.get("/admin/login")
    response = site.client.post("/admin/login", data={"email": ZHOU_ADMIN.email, "password": ZHOU_ADMIN.password})
    assert response.status_code == 403
    assert _sessions(site.url) == []


def test_sign_in_never_redirects_off_the_console(site):
    add_staff(site.url, ZHOU_ADMIN)
    for target in ("https://evil.example/", "//evil.example/admin", "/admin\\@evil.example", "/p/x"):
        response = sign_in(site.new_client(), ZHOU_ADMIN, next_path=target)
        assert response.headers["location"] == "/admin/", target


def test_signing_out_ends_the_session_even_for_a_copied_cookie(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    stolen = site.client.cookies[ADMIN_COOKIE]
    token = form_csrf(site.client.get("/admin/").text, "/admin/logout")
    response = site.client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert _sessions(site.url) == []
    thief = site.new_client()
    thief.cookies.set(ADMIN_COOKIE, stolen, path="/admin")
    assert thief.get("/admin/", follow_redirects=False).status_code == 303


def test_changing_the_password_signs_out_every_other_browser(site):
    add_staff(site.url, ZHOU_ADMIN)
    laptop, phone = site.client, site.new_client()
    sign_in(laptop, ZHOU_ADMIN)
    sign_in(phone, ZHOU_ADMIN)
    page = laptop.get("/admin/password")
    response = laptop.post(
        "/admin/password",
        data={
            "current": ZHOU_ADMIN.password,
            "new": "a-brand-new-passphrase",
            "repeat": "a-brand-new-passphrase",
            "csrf_token": form_csrf(page.text, "/admin/password"),
        },
    )
    assert response.status_code == 200 and "密码已修改" in response.text
    assert phone.get("/admin/", follow_redirects=False).status_code == 303
    assert laptop.get("/admin/", follow_redirects=False).status_code == 200
    assert len(_sessions(site.url)) == 1
    fresh = site.new_client()
    assert sign_in(fresh, ZHOU_ADMIN).status_code == 401
    assert sign_in(fresh, ZHOU_ADMIN.__class__(ZHOU_ADMIN.email, "a-brand-new-passphrase", "admin")).status_code == 303


def test_a_wrong_current_password_changes_nothing(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    page = site.client.get("/admin/password")
    response = site.client.post(
        "/admin/password",
        data={
            "current": "guess-guess-guess",
            "new": "a-brand-new-passphrase",
            "repeat": "a-brand-new-passphrase",
            "csrf_token": form_csrf(page.text, "/admin/password"),
        },
    )
    assert response.status_code == 400
    assert sign_in(site.new_client(), ZHOU_ADMIN).status_code == 303


def test_an_editor_signs_in_and_sees_no_admin_only_links(site):
    add_staff(site.url, SUN_EDITOR)
    sign_in(site.client, SUN_EDITOR)
    page = site.client.get("/admin/")
    assert page.status_code == 200
    assert 'href="/admin/articles"' in page.text and 'href="/admin/subscribers"' not in page.text


def _attempt(app, address: str, staff):
    return sign_in(TestClient(app, client=(address, 40000)), staff)


@pytest.mark.parametrize("counted_in", ["in-process", "redis"])
def test_an_account_failing_from_many_addresses_is_throttled(site, counted_in, request):
    app = site.client.app
    if counted_in == "redis":
        redis_url = request.getfixturevalue("redis_url")  # reachable, or a failure under CI=true
        client = redis.Redis.from_url(redis_url)
        for key in client.scan_iter("digest:login:acct:zhou.admin@example.cn"):
            client.delete(key)
        app = create_app(dataclasses.replace(site.settings, redis_url=redis_url))
    add_staff(site.url, ZHOU_ADMIN)
    wrong = ZHOU_ADMIN.__class__(ZHOU_ADMIN.email, "not-the-password", "admin")
    for n in range(Limits().per_account):
        assert _attempt(app, f"198.51.100.{n}", wrong).status_code == 401
    # From yet another address, even with the right password.
    refused = _attempt(app, "203.0.113.7", ZHOU_ADMIN)
    assert refused.status_code == 429 and "登录失败次数过多" in refused.text
    assert _sessions(site.url) == []
    if counted_in == "redis":
        # Another web process sharing the Redis refuses too: the count is not this process's.
        other = create_app(dataclasses.replace(site.settings, redis_url=redis_url))
        assert _attempt(other, "203.0.113.8", ZHOU_ADMIN).status_code == 429
        client.delete("digest:login:acct:zhou.admin@example.cn")


def test_a_csrf_token_from_another_admin_session_is_refused(site):
    add_staff(site.url, ZHOU_ADMIN)
    add_staff(site.url, SUN_EDITOR)
    attacker, victim = site.client, site.new_client()
    sign_in(attacker, ZHOU_ADMIN)
    sign_in(victim, SUN_EDITOR)
    # The attacker's own CSRF cookie and token, planted in the victim's browser beside the victim's session.
    lifted = form_csrf(attacker.get("/admin/").text, "/admin/logout")
    victim.cookies.set("digest_csrf", attacker.cookies["digest_csrf"], path="/")
    refused = victim.post("/admin/logout", data={"csrf_token": lifted}, follow_redirects=False)
    assert refused.status_code == 403
    assert victim.get("/admin/", follow_redirects=False).status_code == 200
    assert len(_sessions(site.url)) == 2
    # The victim's own form still works.
    own = form_csrf(victim.get("/admin/").text, "/admin/logout")
    assert victim.post("/admin/logout", data={"csrf_token": own}, follow_redirects=False).status_code == 303


def test_the_forms_after_a_password_change_carry_tokens_of_the_new_session(site):
    add_staff(site.url, ZHOU_ADMIN)
    sign_in(site.client, ZHOU_ADMIN)
    page = site.client.get("/admin/password")
    new = "a-brand-new-passphrase"
    form = {"current": ZHOU_ADMIN.password, "new": new, "repeat": new}
    changed = site.client.post("/admin/password", data={**form, "csrf_token": form_csrf(page.text, "/admin/password")})
    assert changed.status_code == 200
    again = {"current": new, "new": "another-passphrase", "repeat": "another-passphrase"}
    token = form_csrf(changed.text, "/admin/password")
    second = site.client.post("/admin/password", data={**again, "csrf_token": token})
    assert second.status_code == 200 and "密码已修改" in second.text
