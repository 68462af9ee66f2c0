"""A real HTTP server on loopback that serves feeds, in a thread, and records every request it gets.

Each path answers as its Route says: a body with headers, a status, a redirect, or a body of any size
written a chunk at a time (the client may hang up partway: the 50 MB case)."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from xml.sax.saxutils import escape


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None  # answered 304 when the request carries it in If-None-Match
    location: str | None = None  # a redirect
    size: int | None = None  # a body this long, written in chunks of "x"
    drip: float = 0.0  # seconds to wait before each chunk of a sized body


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self, server: http.server.ThreadingHTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.written: dict[str, int] = {}  # bytes written per path before the client left

    @property
    def base(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def paths(self) -> list[str]:
        return [seen.path for seen in self.requests]


def _handler(feeds: FeedServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            feeds.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}))
            route = feeds.routes.get(self.path)
            if route is None:
                self._answer(404, b"not here", {"Content-Type": "text/plain"})
            elif route.location is not None:
                self._answer(route.status, b"", {"Location": route.location})
            elif route.etag is not None and self.headers.get("If-None-Match") == route.etag:
                self._answer(304, b"", {"ETag": route.etag})
            elif route.size is not None:
                self._write_large(route)
            else:
                headers = {"Content-Type": route.content_type, **route.headers}
                if route.etag is not None:
                    headers["ETag"] = route.etag
                self._answer(route.status, route.body, headers)

        def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _write_large(self, route: Route) -> None:
            # No Content-Length: the cap must hold while reading, not only on a declared size.
            self.send_response(200)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Connection", "close")
            self.end_headers()
            chunk, written = b"x" * (1024 if route.drip else 65536), 0
            try:
                while written < (route.size or 0):
                    time.sleep(route.drip)
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    written += len(chunk)
            except OSError:
                pass
            feeds.written[self.path] = written
            self.close_connection = True

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    feeds = FeedServer(server)
    server.RequestHandlerClass = _handler(feeds)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield feeds
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def rss(title: str, items: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document; each item's keys are its elements (title, link, guid, pubDate, description)."""
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>', '<rss version="2.0"><channel>']
    parts.append(f"<title>{escape(title)}</title><link>https://news.example.org/</link>")
    for item in items:
        parts.append("<item>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in item.items()) + "</item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding)
