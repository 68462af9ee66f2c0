"""Signing in: failed sign-ins throttled per account from any address (in Redis and in-process), and at most
K password hashes at once in a process."""

from __future__ import annotations

import threading
import time

import pytest
import redis
from argon2 import PasswordHasher
from personas import ZHOU_ADMIN as ZHOU

from digest.adapters.ratelimit import LocalWindowCounter, RedisWindowCounter
from digest.adapters.storage.db import make_engine, session_factory, transaction
from digest.services import admins
from digest.services.admins import create_admin
from digest.services.sign_in import Busy, Limits, LoginGuard, Throttled, sign_in


@pytest.fixture(params=["in-process", "redis"])
def counter(request):
    if request.param == "redis":
        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))  # a failure under CI=true if down
        for key in client.scan_iter("digest:test-login:*"):
            client.delete(key)
        return RedisWindowCounter(client, 900, prefix="digest:test-login")
    return LocalWindowCounter(900)


@pytest.fixture
def sessions(sqlite_url):
    with transaction(sqlite_url) as session:
        create_admin(session, ZHOU.email, ZHOU.password, "admin")
    engine = make_engine(sqlite_url)
    yield session_factory(engine)
    engine.dispose()


def test_an_account_is_throttled_after_n_failures_from_many_addresses(counter, sessions):
    guard = LoginGuard(counter, Limits(per_address=3, per_account=5))
    for n in range(5):
        assert sign_in(guard, sessions, f"10.0.0.{n}", ZHOU.email, "wrong-password-123") is None
    # A sixth address, and even the right password: the account has had its guesses for this window.
    with pytest.raises(Throttled):
        sign_in(guard, sessions, "10.0.0.99", ZHOU.email.upper(), ZHOU.password)
    # Another account from a fresh address is untouched.
    assert sign_in(guard, sessions, "10.0.1.1", "other@example.cn", "wrong-password-123") is None


def test_an_address_is_throttled_after_n_failures_over_many_accounts(counter, sessions):
    guard = LoginGuard(counter, Limits(per_address=3, per_account=5))
    for n in range(3):
        assert sign_in(guard, sessions, "10.0.2.1", f"user{n}@example.cn", "wrong-password-123") is None
    with pytest.raises(Throttled):
        sign_in(guard, sessions, "10.0.2.1", ZHOU.email, ZHOU.password)
    assert sign_in(guard, sessions, "10.0.2.2", ZHOU.email, ZHOU.password) is not None


class CountingHasher(PasswordHasher):
    """The real argon2 verify, counting how many run at once; `gate` holds each one until it is set."""

    def __init__(self, gate: threading.Event):
        super().__init__()
        self.gate = gate
        self.lock = threading.Lock()
        self.running = self.most = self.calls = 0
        self.entered = threading.Event()

    def verify(self, hash, password):
        with self.lock:
            self.running += 1
            self.calls += 1
            self.most = max(self.most, self.running)
            self.entered.set()
        try:
            self.gate.wait(30)
            return super().verify(hash, password)
        finally:
            with self.lock:
                self.running -= 1


def test_at_most_k_password_hashes_run_at_once(sessions, monkeypatch):
    gate = threading.Event()
    hasher = CountingHasher(gate)
    monkeypatch.setattr(admins, "_hasher", hasher)
    guard = LoginGuard(LocalWindowCounter(900), Limits(per_address=100, per_account=100, hashes=2, wait=60))
    results: list[str | None] = []

    def attempt(n: int) -> None:
        results.append(sign_in(guard, sessions, f"10.1.0.{n}", f"u{n}@example.cn", "wrong-password-123"))

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    # Once two are hashing, the other six have had every chance to start too, were nothing holding them back.
    # (A pause to let a broken bound show itself; nothing asserts on how long anything took.)
    while hasher.running < 2 and all(t.is_alive() for t in threads):
        time.sleep(0.01)
    time.sleep(0.5)
    with hasher.lock:
        held = hasher.running
    gate.set()
    for thread in threads:
        thread.join(60)
    assert held <= 2 and hasher.most <= 2
    assert hasher.calls == 8 and results == [None] * 8


def test_a_sign_in_finding_every_slot_taken_is_turned_away(sessions, monkeypatch):
    gate = threading.Event()
    hasher = CountingHasher(gate)
    monkeypatch.setattr(admins, "_hasher", hasher)
    guard = LoginGuard(LocalWindowCounter(900), Limits(hashes=1, wait=0))
    first = threading.Thread(target=sign_in, args=(guard, sessions, "10.2.0.1", ZHOU.email, "wrong-password-123"))
    first.start()
    assert hasher.entered.wait(30)
    with pytest.raises(Busy):
        sign_in(guard, sessions, "10.2.0.2", ZHOU.email, ZHOU.password)
    gate.set()
    first.join(60)
    assert hasher.calls == 1
    # The slot is free again.
    assert sign_in(guard, sessions, "10.2.0.2", ZHOU.email, ZHOU.password) is not None


def test_an_unknown_or_malformed_email_costs_the_same_hash_as_a_known_one(sessions, monkeypatch):
    gate = threading.Event()
    gate.set()
    hasher = CountingHasher(gate)
    monkeypatch.setattr(admins, "_hasher", hasher)
    guard = LoginGuard(LocalWindowCounter(900), Limits(per_address=100, per_account=100))
    for n, email in enumerate((ZHOU.email, "nobody@example.cn", "not an address")):
        before = hasher.calls
        assert sign_in(guard, sessions, f"10.3.0.{n}", email, "wrong-password-123") is None
        assert hasher.calls == before + 1, email
