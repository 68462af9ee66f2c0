"""`digest serve` starts the web app on the host and port it is given; /healthz tells a container it is ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import click
import httpx
import pytest
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from smtpserver import free_port

from digest.adapters.storage.db import upgrade_database
from digest.cli.serving import Workers, listening_socket
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


@pytest.mark.parametrize("access_log", ["--access-log", "--no-access-log"])
def test_digest_serve_with_workers_answers_from_several_processes(tmp_path, access_log):
    env = {**os.environ, "DIGEST_DATABASE_URL": f"sqlite:///{tmp_path / 'digest.db'}"}
    subprocess.run([sys.executable, "-m", "digest.cli", "init"], cwd=tmp_path, env=env, check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "digest.cli", "serve", "--port", str(port), "--workers", "2", access_log],
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
    # Each request's line, unless the proxy in front keeps that log and it is turned off here.
    logged = proc.stdout.read().decode().count('"GET /healthz HTTP/1.1" 200')
    assert logged >= 20 if access_log == "--access-log" else logged == 0


def test_each_worker_can_listen_on_the_same_port():
    # The kernel spreads connections over the workers' own sockets only if each may bind the port.
    first = listening_socket("127.0.0.1", 0)
    port = first.getsockname()[1]
    second = listening_socket("127.0.0.1", port)
    try:
        assert second.getsockname()[1] == port
    finally:
        first.close()
        second.close()


def test_workers_on_a_port_another_program_holds_are_one_clear_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(click.ClickException, match=f"cannot listen on 127.0.0.1:{port}"):
            Workers("127.0.0.1", port, 2).run()
