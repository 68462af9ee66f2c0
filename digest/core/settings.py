"""Settings from the environment (and a `.env` file in the working directory)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from digest.core.bounces.settings import LoopSettingError, LoopSettings, load_loop_settings
from digest.core.clock import SYSTEM_CLOCK, Clock, OffsetClock, parse_instant

DEFAULT_DATABASE_URL = "sqlite:///digest.db"
DEFAULT_BASE_URL = "http://localhost:8000"
SECRET_FILE = ".digest-secret"
# What .env.example ships with: a deployment still using it signs links anyone can forge.
PLACEHOLDER_SECRET = "change-me-to-a-long-random-string"
MIN_SECRET_LENGTH = 32
# A batch renews the rows it holds every HEARTBEAT; rows not renewed for LEASE belong to a
# batch that died (a killed worker, a lost connection) and go back to pending at the next tick.
# Several heartbeats fit in a lease, so one slow message or commit does not lose a live batch's rows.
# A dead batch's rows are sent again within the lease plus one tick: 30 s + 30 s by default.
DEFAULT_LEASE = timedelta(seconds=30)
DEFAULT_HEARTBEAT = timedelta(seconds=10)


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    broker_url: str | None
    smtp_url: str | None
    outbox: Path
    secret_key: str
    base_url: str
    # Where the sign-in throttle counts, shared by every web process: DIGEST_REDIS_URL, else a Redis
    # DIGEST_BROKER_URL; None counts in each process.
    redis_url: str | None = None
    # Keys that signed links before the current one (DIGEST_OLD_SECRET_KEYS): links already mailed keep
    # working after a rotation. They only verify; the current key signs.
    old_secret_keys: tuple[str, ...] = ()
    # What scheduling, planning and sending take for "now"; DIGEST_NOW sets it (see digest/core/clock.py).
    clock: Clock = field(default=SYSTEM_CLOCK, compare=False)
    lease: timedelta = DEFAULT_LEASE
    heartbeat: timedelta = DEFAULT_HEARTBEAT
    # Return paths, the bounce mailbox, DKIM and the providers' webhooks (digest/core/bounces/settings.py).
    loop: LoopSettings = field(default_factory=LoopSettings)

    @property
    def token_keys(self) -> tuple[str, ...]:
        """The keys a signed link may be verified with, oldest first: itsdangerous signs with the last."""
        return (*self.old_secret_keys, self.secret_key)

    @property
    def link_domain(self) -> str:
        """The host part used for List-Id and Message-ID."""
        return _hostname(self.base_url)


# Memo of a pure function of its argument.
@lru_cache(maxsize=16)
def _hostname(url: str) -> str:
    # Asked twice per message sent; parsing the URL each time showed in a send's profile.
    return urlsplit(url).hostname or "localhost"


def _demo_secret() -> str:
    """Without DIGEST_SECRET_KEY, a random key is generated once and kept beside the database.

    Tokens in messages already sent must stay valid, so the key cannot change
    from run to run.
    """
    path = Path(SECRET_FILE)
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key


def _clock_from_env(value: str) -> Clock:
    """DIGEST_NOW: the instant this process starts at, running on from there.

    Each load starts a clock of its own: every entry point loads its settings once, into
    its Runtime, and the Celery app's own load reads only the broker from them.
    """
    if not value.strip():
        return SYSTEM_CLOCK
    try:
        return OffsetClock(parse_instant(value))
    except ValueError as exc:
        raise ConfigError(f"DIGEST_NOW: {exc}") from None


def _secret_from_env(value: str, require_secret: bool) -> str:
    secret = value.strip()
    if not secret:
        if require_secret:
            raise ConfigError("DIGEST_SECRET_KEY is required here (set it in the environment or .env)")
        return _demo_secret()
    if secret == PLACEHOLDER_SECRET:
        raise ConfigError(
            "DIGEST_SECRET_KEY is still the placeholder from .env.example: set it to a long random string, e.g. "
            "the output of `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"DIGEST_SECRET_KEY is too short: use at least {MIN_SECRET_LENGTH} random characters "
            "(to keep links signed with the old key working, list it in DIGEST_OLD_SECRET_KEYS)"
        )
    return secret


def _seconds(env: os._Environ[str], name: str, default: timedelta) -> timedelta:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, got {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"{name} must be more than 0 seconds, got {value!r}")
    return timedelta(seconds=seconds)


def _lease_and_heartbeat(env: os._Environ[str]) -> tuple[timedelta, timedelta]:
    lease = _seconds(env, "DIGEST_LEASE_SECONDS", DEFAULT_LEASE)
    heartbeat = _seconds(env, "DIGEST_HEARTBEAT_SECONDS", min(DEFAULT_HEARTBEAT, lease / 3))
    if heartbeat * 2 > lease:
        raise ConfigError(
            f"DIGEST_HEARTBEAT_SECONDS ({heartbeat.total_seconds():g}) must be at most half of "
            f"DIGEST_LEASE_SECONDS ({lease.total_seconds():g}), or live batches lose their rows"
        )
    return lease, heartbeat


def load_settings(*, require_secret: bool = False) -> Settings:
    load_dotenv(Path.cwd() / ".env", override=False)
    env = os.environ
    base_url = env.get("DIGEST_BASE_URL", DEFAULT_BASE_URL).rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"DIGEST_BASE_URL must start with http:// or https://, got {base_url!r}")
    secret = _secret_from_env(env.get("DIGEST_SECRET_KEY", ""), require_secret)
    broker_url = env.get("DIGEST_BROKER_URL") or None
    redis_url = env.get("DIGEST_REDIS_URL") or (broker_url if broker_url and broker_url.startswith("redis") else None)
    lease, heartbeat = _lease_and_heartbeat(env)
    try:
        loop = load_loop_settings(env)
    except LoopSettingError as exc:
        raise ConfigError(str(exc)) from None
    return Settings(
        database_url=env.get("DIGEST_DATABASE_URL", DEFAULT_DATABASE_URL),
        broker_url=broker_url,
        redis_url=redis_url,
        smtp_url=env.get("DIGEST_SMTP_URL") or None,
        outbox=Path(env.get("DIGEST_OUTBOX", "outbox")),
        secret_key=secret,
        old_secret_keys=tuple(k.strip() for k in env.get("DIGEST_OLD_SECRET_KEYS", "").split(",") if k.strip()),
        base_url=base_url,
        clock=_clock_from_env(env.get("DIGEST_NOW", "")),
        lease=lease,
        heartbeat=heartbeat,
        loop=loop,
    )
