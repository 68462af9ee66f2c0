"""`digest serve --workers N`: N uvicorn processes, each listening on a socket of its own on the same port.

uvicorn's own supervisor hands one listening socket to every worker, and the worker whose event loop wakes
first accepts every connection waiting: a client or proxy that keeps a few connections open (as wrk and
nginx do) had them all on one worker while the other idled (measured: bench/http.py, docs/performance.md).
With SO_REUSEPORT the kernel spreads new connections over the workers' sockets by their addresses.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import threading
import time
from multiprocessing.process import BaseProcess

import click
import uvicorn

log = logging.getLogger("digest.serve")

APP = "digest.web:app_from_environment"
# A worker that dies sooner than this after starting is not started again: it would only die again
# (a port taken by another program, settings that fail in the worker).
EARLY_EXIT_SECONDS = 5.0


def shared_ports_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket on (host, port) that other processes of this user may also listen on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run_worker(host: str, port: int, access_log: bool = True) -> None:
    """One worker process: its own socket, its own app (built from the environment, as each worker's is)."""
    sock = listening_socket(host, port)
    config = uvicorn.Config(APP, factory=True, proxy_headers=True, access_log=access_log)
    uvicorn.Server(config).run(sockets=[sock])


class Workers:
    """Starts the workers, replaces one that dies, and stops them all on SIGTERM or SIGINT."""

    def __init__(self, host: str, port: int, count: int, access_log: bool = True):
        self.host, self.port, self.count, self.access_log = host, port, count, access_log
        self.context = multiprocessing.get_context("spawn")
        self.stopping = threading.Event()

    def start(self) -> tuple[BaseProcess, float]:
        child = self.context.Process(target=run_worker, args=(self.host, self.port, self.access_log), daemon=False)
        child.start()
        return child, time.monotonic()

    def run(self) -> int:
        """Serves until told to stop; the exit status: 0, or 1 when a worker could not stay up."""
        # The port is tried here first, so a taken one is one clear error, not N dying workers.
        try:
            listening_socket(self.host, self.port).close()
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stopping.set())
        children = [self.start() for _ in range(self.count)]
        status = 0
        while not self.stopping.wait(0.5):
            for index, (child, started) in enumerate(children):
                if child.is_alive():
                    continue
                if time.monotonic() - started < EARLY_EXIT_SECONDS:
                    log.error("worker %s exited with %s right after starting; stopping", child.pid, child.exitcode)
                    self.stopping.set()
                    status = 1
                    break
                log.warning("worker %s exited with %s; starting another", child.pid, child.exitcode)
                children[index] = self.start()
        self.stop([child for child, _ in children])
        return status

    @staticmethod
    def stop(children: list[BaseProcess]) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()  # uvicorn finishes the requests in flight on SIGTERM
        for child in children:
            child.join(30)
            if child.is_alive():
                child.kill()
                child.join()
