"""CSRF tokens and the subscribe form's rate limiter, on their own."""

from __future__ import annotations

from digest.adapters.ratelimit import LocalWindowCounter, RedisWindowCounter, WindowLimit
from digest.web.security import csrf_ok, csrf_token


def test_a_csrf_token_is_bound_to_its_cookie_its_form_and_the_site_secret():
    token = csrf_token("site-secret", "cookie-1", "subscribe:rural-weekly")
    assert csrf_ok("site-secret", "cookie-1", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-2", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-1", token, "prefs:1")
    assert not csrf_ok("other-secret", "cookie-1", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", None, token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-1", "", "subscribe:rural-weekly")


def test_a_window_limit_counts_per_key_from_its_first_hit():
    now = [0.0]
    limiter = WindowLimit(LocalWindowCounter(window=60, clock=lambda: now[0]), limit=5)
    assert [limiter.hit("a") for _ in range(6)] == [True] * 5 + [False]
    assert limiter.hit("b")
    now[0] = 59.0
    assert not limiter.hit("a")  # refused hits keep it refused, not longer: the window began at 0
    now[0] = 60.5
    assert limiter.hit("a")


def test_a_window_limit_in_redis_is_one_count_for_every_process(redis_url):
    import uuid

    import redis

    prefix = f"digest:test-limit:{uuid.uuid4().hex}"
    first, second = (
        WindowLimit(RedisWindowCounter(redis.Redis.from_url(redis_url), 60, prefix), limit=3) for _ in range(2)
    )
    assert [(first, second)[i % 2].hit("198.51.100.7") for i in range(4)] == [True, True, True, False]
    ttl = redis.Redis.from_url(redis_url).pttl(f"{prefix}:198.51.100.7")
    assert 0 < ttl <= 60_000  # the key expires with its window, set on the first hit in the same script


def test_the_sign_in_counter_sweeps_now_and_then_with_many_live_keys():
    now = [0.0]
    counter = LocalWindowCounter(window=900, clock=lambda: now[0])
    rebuilt = []
    for n in range(30_000):
        before = id(counter._counts)
        counter.add(f"account-{n}")
        if id(counter._counts) != before:
            rebuilt.append(n)
    assert len(rebuilt) <= 2, rebuilt[:5]  # the map was rebuilt on every event past 10,000 keys


def test_a_csrf_token_is_bound_to_the_admin_session():
    token = csrf_token("site-secret", "cookie-1", "admin-logout", "session-a")
    assert csrf_ok("site-secret", "cookie-1", token, "admin-logout", "session-a")
    assert not csrf_ok("site-secret", "cookie-1", token, "admin-logout", "session-b")
    assert not csrf_ok("site-secret", "cookie-1", token, "admin-logout")


def _bare_app(tmp_path):
    from fixtures_db import make_settings

    from digest.adapters.storage.db import upgrade_database
    from digest.web import create_app

    url = f"sqlite:///{tmp_path / 'digest.db'}"
    upgrade_database(url)
    return create_app(make_settings(url, tmp_path))


def test_a_redirect_never_names_the_host_the_request_claimed(tmp_path):
    from fastapi.testclient import TestClient

    with TestClient(_bare_app(tmp_path)) as client:
        for path in ("/static", "/admin"):
            response = client.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
            assert response.status_code in (301, 302, 303, 307, 308)
            assert "evil.example" not in response.headers["location"]
            assert response.headers["location"] == path + "/"


def test_an_unhandled_exception_answers_500_with_the_security_headers(tmp_path):
    from fastapi.testclient import TestClient

    from digest.web.security import PAGE_CSP, SECURITY_HEADERS

    app = _bare_app(tmp_path)

    @app.get("/admin/boom")
    def boom():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/admin/boom")
    assert response.status_code == 500
    assert "a bug" not in response.text
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert response.headers["Content-Security-Policy"] == PAGE_CSP
    assert response.headers["Cache-Control"] == "no-store"


def test_the_openapi_schema_declares_the_error_answers_with_their_bodies(tmp_path):
    from fastapi.testclient import TestClient

    with TestClient(_bare_app(tmp_path)) as client:
        schema = client.get("/openapi.json").json()
    operations = [(p, m, op) for p, item in schema["paths"].items() for m, op in item.items()]
    assert operations
    for path, method, op in operations:
        for status in ("400", "401", "404"):
            assert status in op["responses"], (method, path, status)
            assert "$ref" in op["responses"][status]["content"]["application/json"]["schema"]
    conflict = schema["paths"]["/api/v1/issues/{issue_id}/pause"]["post"]["responses"]["409"]
    assert conflict["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    assert "detail" in schema["components"]["schemas"]["FieldErrorsOut"]["properties"]
