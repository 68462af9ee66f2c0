"""`digest serve` starts the web app on the host and port it is given; /healthz tells a container it is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from smtpserver import free_port

from digest.adapters.storage.db import upgrade_database
from digest.web import create_app


def test_digest_serve_answers_on_its_port(tmp_path):
    env = {
        **os.environ,
        "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}",
        "DIGEST_OUTBOX": str(tmp_path / "outbox"),
    }
    env.pop("DIGEST_SMTP_URL", None)
    subprocess.run([sys.executable, "-m", "digest.cli", "init"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/lists/rural-weekly/subscribe", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "digest serve did not start"
                time.sleep(0.2)
        assert response.status_code == 200 and "订阅乡村振兴周报" in response.text
        assert response.headers["referrer-policy"] == "no-referrer"
    finally:
        proc.terminate()
        proc.wait(10)


def test_healthz_answers_once_the_database_is_initialised(tmp_path):
    url = f"sqlite:///{tmp_path / 'digest.db'}"
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        before = client.get("/healthz")
        assert before.status_code == 503 and "database" in before.text
        upgrade_database(url)
        after = client.get("/healthz")
        assert after.status_code == 200 and after.text == "ok\n"


def _serving_children(pid: int) -> list[int]:
    """The worker processes uvicorn spawned under `pid` (its multiprocessing children)."""
    try:
        children = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [c for c in children if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text()]


def test_digest_serve_with_workers_answers_from_several_processes(tmp_path):
    env = {**os.environ, "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}"}
    subprocess.run([sys.executable, "-m", "digest.cli", "init"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "serve", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        answers = []
        while len(answers) < 20:
            try:
                answers.append(httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code)
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "digest serve --workers 2 did not start"
                time.sleep(0.2)
        assert set(answers) == {200}
        assert len(_serving_children(proc.pid)) == 2
    finally:
        proc.terminate()
        proc.wait(20)
