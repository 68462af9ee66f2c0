"""A seeded database, settings that send through the loopback SMTP server, and a client for the web app."""

from __future__ import annotations

import dataclasses

import pytest
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from webutil import SITE_NOW, Site, seed

from digest.core.clock import FixedClock
from digest.web import create_app


@pytest.fixture
def site(database_url, tmp_path, smtp_server):
    settings = make_settings(database_url, tmp_path, smtp_url=smtp_server.url)
    settings = dataclasses.replace(settings, clock=FixedClock(SITE_NOW))  # a test may set it on
    seed(database_url)
    with TestClient(create_app(settings)) as client:
        yield Site(database_url, settings, client, smtp_server)


@pytest.fixture(scope="module")
def browser():
    """Headless chromium, shared by the tests of one module."""
    from browserutil import launch_chromium

    with launch_chromium() as chromium:
        yield chromium
