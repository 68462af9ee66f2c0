"""The wheel as users install it: built from this checkout, installed into a fresh virtualenv, run from an empty folder.

Nothing here may see the source tree: the commands run with the new venv's own executables, from a
directory outside the checkout, with no DIGEST_* variable and no PYTHONPATH, so a file the wheel
forgot to ship fails the test instead of being found in the checkout.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import httpx
import pytest
from smtpserver import free_port

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.timeout(600)


def _clean_env(**extra: str) -> dict:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DIGEST_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")
    }
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # No build isolation: the backend comes from the test extra, so building needs no download.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        env=_clean_env(),
    )
    (built,) = dist.glob("digest-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("venv") / "venv"
    # No --system-site-packages: it would hand the new venv whatever the test venv has.
    subprocess.run([sys.executable, "-m", "venv", str(home)], check=True)
    started = time.monotonic()
    subprocess.run(
        [str(home / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(wheel)],
        check=True,
        env=_clean_env(),
    )
    print(f"\nwheel and its dependencies installed in {time.monotonic() - started:.1f} s")
    return home


@pytest.fixture(scope="module")
def demo_dir(venv, tmp_path_factory):
    """An empty folder where `digest demo` has run, and what it printed."""
    where = tmp_path_factory.mktemp("empty")
    assert not any(where.iterdir())
    result = subprocess.run(
        [str(venv / "bin" / "digest"), "demo"],
        cwd=where,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return where, result


def test_the_wheel_ships_every_template_static_file_and_package_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = [p.relative_to(ROOT / "templates").as_posix() for p in (ROOT / "templates").rglob("*") if p.is_file()]
    assert {"digest.subject.txt", "digest.html", "web/base.html", "web/static/web.css"} <= set(templates)
    missing = [t for t in templates if f"digest/templates/{t}" not in names]
    assert not missing, f"templates not in the wheel: {missing}"

    sources = [
        p.relative_to(ROOT).as_posix()
        for package in ("digest", "tasks")
        for p in (ROOT / package).rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    ]
    assert {
        "digest/adapters/storage/migrations/env.py",
        "digest/adapters/storage/migrations/script.py.mako",
        "tasks/__init__.py",
    } <= set(sources)
    assert any(s.startswith("digest/data/") for s in sources)
    assert any(s.startswith("digest/adapters/storage/migrations/versions/") for s in sources)
    missing = [s for s in sources if s not in names]
    assert not missing, f"package files not in the wheel: {missing}"
    # The templates live in the wheel only under digest/, never as a top-level package of site-packages.
    assert not [n for n in names if n.startswith("templates/")]


def test_the_installed_package_is_the_one_that_runs(venv, demo_dir):
    where, _ = demo_dir
    found = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import digest, digest.worker; print(digest.__file__)"],
        cwd=where,
        env=_clean_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(venv) and "site-packages" in found, found
    assert not Path(found).is_relative_to(ROOT)


def test_digest_demo_from_an_empty_folder_delivers_html_digests(demo_dir):
    where, result = demo_dir
    assert result.returncode == 0, result.stdout + result.stderr
    messages = sorted((where / "outbox" / "new").glob("*.eml"))
    assert len(messages) >= 5, result.stdout + result.stderr
    message = email.message_from_bytes(messages[0].read_bytes(), policy=email.policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "<html" in html.lower() and "乡村振兴" in html
    # Real articles, each headed `region | title`, in both parts.
    assert re.search(r"\|\s*\S", text), text[:500]
    assert "style=" in html  # CSS inlined, so the templates and premailer both ran


def test_digest_serve_from_the_installed_package_serves_pages_and_their_stylesheet(venv, demo_dir):
    where, _ = demo_dir
    port = free_port()
    proc = subprocess.Popen(
        [str(venv / "bin" / "digest"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=where,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"{base}/lists/rural-weekly/subscribe", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "digest serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200 and "订阅乡村振兴周报" in page.text

        login = httpx.get(f"{base}/admin/login", timeout=5)
        assert login.status_code == 200 and "<form" in login.text

        sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page.text)
        assert sheets, page.text[:500]
        for href in sheets:
            css = httpx.get(base + href, timeout=5)
            assert css.status_code == 200, href
            assert css.headers["content-type"].startswith("text/css")
            assert "{" in css.text
    finally:
        proc.terminate()
        proc.wait(10)
