"""The web's request limits, shared by every web process through Redis when the settings name one
(DIGEST_REDIS_URL, else DIGEST_BROKER_URL on Redis), else counted in this process.

A test send is one limit per staff member, whether it comes from the console or the API: the two doors
lead to one mailer, so they share one count.
"""

from __future__ import annotations

from fastapi import Request

from digest.adapters.ratelimit import Limiter, WindowLimit, window_counter
from digest.core.settings import Settings

SUBSCRIBE_LIMIT, SUBSCRIBE_WINDOW = 5, 60.0
# Enough for an editor checking a layout; too few to use the console or the API as a mailer.
TEST_SEND_LIMIT, TEST_SEND_WINDOW = 10, 60.0


def subscribe_limiter(settings: Settings) -> Limiter:
    """Subscribe-form posts per client address."""
    return WindowLimit(window_counter(settings.redis_url, SUBSCRIBE_WINDOW, "digest:limit:subscribe"), SUBSCRIBE_LIMIT)


def test_send_limiter(request: Request) -> Limiter:
    """Test sends per staff member, built once per app and used by the console and the API alike."""
    state = request.app.state
    if not hasattr(state, "test_send_limiter"):
        counter = window_counter(state.web.settings.redis_url, TEST_SEND_WINDOW, "digest:limit:test-send")
        state.test_send_limiter = WindowLimit(counter, TEST_SEND_LIMIT)
    return state.test_send_limiter


def test_send_key(staff_id: int) -> str:
    return f"admin{staff_id}"


def retry_after() -> dict[str, str]:
    """The header a refused test send carries: a whole window is always long enough to wait."""
    return {"Retry-After": str(int(TEST_SEND_WINDOW))}
