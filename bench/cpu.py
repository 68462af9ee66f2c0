"""CPU time per process from /proc, and the meter bench/http.py reads it with: the share of the machine's
cores each part of a request took (server, PostgreSQL, the mail worker, Redis)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import redis
from sqlalchemy import text

from digest.adapters.storage.db import make_engine


def group_pids(leader: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(leader)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (/proc); 0 for one that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU spent during a run by the server's processes and by PostgreSQL's backends on our database (others
    may share the machine and the server): milliseconds per request, where the time goes between the two."""

    def __init__(self, server_pids: Callable[[], list[int]], url: str, redis_url: str):
        self.server_pids = server_pids
        self.worker: subprocess.Popen | None = None  # the Celery worker sending the form mails, if any
        self.engine = make_engine(url, pooled=False)
        self.database = url.rsplit("/", 1)[1]
        # Redis (the limits' scripts, the broker) and wrk use the same cores: their share is part of the budget.
        self.redis_pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])

    def _backends(self) -> list[int]:
        with self.engine.connect() as conn:
            query = text("SELECT pid FROM pg_stat_activity WHERE datname = :name AND pid <> pg_backend_pid()")
            return [row[0] for row in conn.execute(query, {"name": self.database})]

    def _commits(self) -> float:
        """Transactions committed on our database so far: statements, where each is its own transaction."""
        with self.engine.connect() as conn:
            query = text("SELECT xact_commit FROM pg_stat_database WHERE datname = :name")
            return float(conn.scalar(query, {"name": self.database}) or 0)

    def snapshot(self) -> dict[str, dict[int, float]]:
        groups = {"server": self.server_pids(), "postgres": self._backends(), "redis": [self.redis_pid]}
        if self.worker is not None:
            groups["worker"] = group_pids(self.worker.pid)
        taken = {name: {pid: cpu_seconds(pid) for pid in pids} for name, pids in groups.items()}
        return taken | {"commits": {0: self._commits()}}

    def per_request(self, before: dict[str, dict[int, float]], requests: int) -> dict[str, float]:
        """ms of CPU per request since `before` (a backend that started meanwhile counts whole), and the
        database's commits per request (PostgreSQL reports them within a second or so of each)."""
        after = self.snapshot()
        spent = {
            name: sum(seconds - before[name].get(pid, 0.0) for pid, seconds in after[name].items()) for name in after
        }
        commits = spent.pop("commits")
        figures = {f"{name}_cpu_ms": round(1000 * seconds / max(requests, 1), 2) for name, seconds in spent.items()}
        return figures | {"commits_per_request": round(commits / max(requests, 1), 3)}
