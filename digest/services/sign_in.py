"""Signing in to the console: failed sign-ins throttled per client address and per account, and a bound
on how many passwords this process hashes at once.

Each argon2 check takes 64 MiB and tens of milliseconds of a core. Unbounded, a burst of wrong
passwords from many addresses took the server's memory from 197 MB to 1.1 GB and every other page
with it; now at most `Limits.hashes` run at once, and a sign-in that cannot get a slot within
`Limits.wait` seconds is told to come back (Busy) instead of queueing. Failures are counted in Redis
when there is one, so every web process shares the count, else in this process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from digest.adapters.ratelimit import WindowCounter, window_counter
from digest.services.admins import authenticate, start_session


@dataclass(frozen=True)
class Limits:
    # Failed sign-ins per window from one client address, whichever accounts they name.
    per_address: int = 20
    # Failed sign-ins per window naming one account, from any address: a botnet gets no more guesses.
    per_account: int = 10
    window: float = 15 * 60
    # Password checks running at once in this process (64 MiB each).
    hashes: int = 4
    # Seconds a sign-in waits for a free slot before it is told to come back.
    wait: float = 2.0


class Throttled(Exception):
    """Too many failed sign-ins from this address or for this account lately."""


class Busy(Exception):
    """Every password-hashing slot stayed taken for `Limits.wait` seconds."""


def counter_for(redis_url: str | None, window: float) -> WindowCounter:
    """Failed sign-ins, counted in Redis when a Redis URL is configured, else in this process."""
    return window_counter(redis_url, window, "digest:login")


class LoginGuard:
    """One per process (the Runtime holds it): the throttle's counter and the hashing slots."""

    def __init__(self, counter: WindowCounter, limits: Limits | None = None):
        self.counter = counter
        self.limits = limits or Limits()
        self._slots = threading.BoundedSemaphore(self.limits.hashes)

    @staticmethod
    def _keys(address: str, email: str) -> tuple[str, str]:
        return f"addr:{address}", f"acct:{email.strip().lower()[:320]}"

    def check(self, address: str, email: str) -> None:
        """Throttled when this address or this account has failed too often in the window."""
        by_address, by_account = self._keys(address, email)
        if self.counter.count(by_address) >= self.limits.per_address:
            raise Throttled(address)
        if self.counter.count(by_account) >= self.limits.per_account:
            raise Throttled(email)

    def failed(self, address: str, email: str) -> None:
        for key in self._keys(address, email):
            self.counter.add(key)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """Holds one of the process's hashing slots; Busy if none frees up in time."""
        if not self._slots.acquire(timeout=self.limits.wait):
            raise Busy()
        try:
            yield
        finally:
            self._slots.release()


def sign_in(guard: LoginGuard, sessions: sessionmaker[Session], address: str, email: str, password: str) -> str | None:
    """A new session's cookie for these credentials, or None; Throttled or Busy before any hashing."""
    guard.check(address, email)
    with guard.hashing(), sessions.begin() as session:
        user = authenticate(session, email, password)
        secret = start_session(session, user) if user else None
    if secret is None:
        guard.failed(address, email)
    return secret
