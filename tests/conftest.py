"""Shared fixtures: databases (fixtures_db), a real SMTP server and Dovecot on loopback, the real sample issue."""

import os
import shutil
import ssl
import tempfile
from pathlib import Path

import pytest
from dovecot import dovecot_binary, start_dovecot
from fixtures_db import _unavailable
from samples import SAMPLE_NAME, SAMPLES_ENV, samples_dir
from smtpserver import self_signed_cert, start_server

pytest_plugins = ["fixtures_db"]


@pytest.fixture(autouse=True)
def _close_runtime_pools(monkeypatch):
    """Each Runtime keeps a connection pool, as a process does; a test's pools close when it ends.

    A test process makes hundreds of Runtimes, and an engine is freed only by the cycle
    collector: left to it, their idle connections could fill PostgreSQL's max_connections.
    A disposed engine still works (it opens new connections), so a runtime that outlives
    its test loses nothing.
    """
    import digest.services.runtime as runtime_module

    engines = []
    make = runtime_module.make_engine

    def make_and_remember(url, **options):
        engine = make(url, **options)
        engines.append(engine)
        return engine

    monkeypatch.setattr(runtime_module, "make_engine", make_and_remember)
    yield
    for engine in engines:
        engine.dispose()


@pytest.fixture
def redis_url():
    """The tests' Redis (DIGEST_TEST_REDIS_URL); under CI=true its absence fails the test."""
    import redis

    url = os.environ.get("DIGEST_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
    try:
        redis.Redis.from_url(url).ping()
    except redis.RedisError as exc:
        _unavailable(f"Redis at {url}", exc)
    return url


@pytest.fixture
def smtp_server():
    """A strict SMTP server on loopback; `.messages` holds what it accepted, byte for byte."""
    server = start_server()
    yield server
    server.stop()


@pytest.fixture
def smtp_tls_server(tmp_path):
    """The same, requiring STARTTLS and AUTH (user digest, password s3cret)."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_server(tls_context=context, user="digest", password="s3cret")
    yield server
    server.stop()


@pytest.fixture
def smtps_server(tmp_path):
    """Implicit TLS from the first byte (smtps://), with AUTH (user digest, password s3cret)."""
    cert, key = self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = start_server(implicit_tls_context=context, user="digest", password="s3cret")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dovecot():
    """A real Dovecot on 127.0.0.1 (IMAP and POP3 with STARTTLS, IMAPS, POP3S), started once for the session.

    `.url(protocol)` gives a mailbox URL trusting its self-signed CA (`.cafile`), `.deliver(raw)` puts a mail
    into the user's INBOX, `.maildir` is that INBOX on disk and `.new_user()` gives a test an empty one.
    Without Debian's dovecot-imapd and dovecot-pop3d the tests skip, or fail under CI=true.
    """
    binary = dovecot_binary()
    if binary is None:
        _unavailable("Dovecot (apt-get install dovecot-imapd dovecot-pop3d)", "no dovecot binary on PATH")
    base = Path(tempfile.mkdtemp(prefix="digest-dovecot-"))
    base.chmod(0o755)  # not pytest's tmp_path (mode 0700): Dovecot's own users must reach the files below
    server = start_dovecot(base / "server", binary)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def sample_issue():
    """The path of the real issue the parser was built for; it is not in the repository.

    Found in `DIGEST_SAMPLES_DIR`, else in `../shared/samples` beside the checkout. When it
    is absent the tests of the real sample skip, or fail under CI=true, where a skip
    would prove nothing.
    """
    path = samples_dir() / SAMPLE_NAME
    if path.is_file():
        return path
    looked = f"{SAMPLES_ENV}={os.environ[SAMPLES_ENV]}" if os.environ.get(SAMPLES_ENV) else f"{SAMPLES_ENV} unset"
    hint = f"set {SAMPLES_ENV} to the directory holding {SAMPLE_NAME}"
    _unavailable("the real sample issue", f"not at {path} ({looked}); {hint}")
