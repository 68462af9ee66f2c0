"""A real browser and a real server for the browser tests: Debian's chromium via Playwright, uvicorn on loopback."""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fixtures_db import _unavailable, make_settings
from smtpserver import free_port
from webutil import SITE_NOW, seed

from digest.core.clock import FixedClock
from digest.web import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def launch_chromium() -> Iterator[object]:
    """Headless chromium; under CI=true a missing browser fails the run instead of skipping."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable("playwright", exc)
    if not (os.access(CHROMIUM, os.X_OK) or shutil.which("chromium")):
        _unavailable("chromium", FileNotFoundError(CHROMIUM))
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            _unavailable("chromium", exc)
        yield chromium
        chromium.close()


@contextmanager
def serve(settings, port: int) -> Iterator[None]:
    """The web app on 127.0.0.1:`port` in a thread, until the block ends."""
    import uvicorn

    uv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield
    finally:
        uv.should_exit = True
        thread.join(10)


def shot(page, name: str) -> None:
    """A full-page screenshot kept in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@dataclass
class LiveSite:
    base: str  # http://127.0.0.1:PORT
    settings: object
    url: str  # the database


@contextmanager
def live_site(database_url: str, tmp_path, smtp_server) -> Iterator[LiveSite]:
    """The demo week seeded and the web app served on a free loopback port, mailing through `smtp_server`."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = dataclasses.replace(
        make_settings(database_url, tmp_path, smtp_url=smtp_server.url), base_url=base, clock=FixedClock(SITE_NOW)
    )
    seed(database_url)
    with serve(settings, port):
        yield LiveSite(base, settings, database_url)
