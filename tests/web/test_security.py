"""CSRF tokens and the subscribe form's rate limiter, on their own."""

from __future__ import annotations

from digest.web.security import RateLimiter, csrf_ok, csrf_token


def test_a_csrf_token_is_bound_to_its_cookie_its_form_and_the_site_secret():
    token = csrf_token("site-secret", "cookie-1", "subscribe:rural-weekly")
    assert csrf_ok("site-secret", "cookie-1", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-2", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-1", token, "prefs:1")
    assert not csrf_ok("other-secret", "cookie-1", token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", None, token, "subscribe:rural-weekly")
    assert not csrf_ok("site-secret", "cookie-1", "", "subscribe:rural-weekly")


def test_the_rate_limiter_counts_per_key_in_a_sliding_window():
    now = [0.0]
    limiter = RateLimiter(limit=5, window=60, clock=lambda: now[0])
    assert [limiter.hit("a") for _ in range(6)] == [True] * 5 + [False]
    assert limiter.hit("b")
    now[0] = 59.0
    assert not limiter.hit("a")
    now[0] = 60.5
    assert limiter.hit("a")


def test_a_csrf_token_is_bound_to_the_admin_session():
    token = csrf_token("site-secret", "cookie-1", "admin-logout", "session-a")
    assert csrf_ok("site-secret", "cookie-1", token, "admin-logout", "session-a")
    assert not csrf_ok("site-secret", "cookie-1", token, "admin-logout", "session-b")
    assert not csrf_ok("site-secret", "cookie-1", token, "admin-logout")
