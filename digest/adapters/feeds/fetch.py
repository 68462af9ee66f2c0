"""Fetching a feed: http(s) only, every address vetted, redirects followed by hand and counted, a timeout and a
deadline, the body capped as it is read, and a conditional GET with the validators of the last full answer.

httpcore (the transport under httpx, by the same maintainers) takes a network backend of our own: the check
of digest/adapters/feeds/addresses.py runs on the connection itself, for the first URL and every redirect
hop, on the address the socket goes to. Nothing an item's content points to is ever fetched here.
"""

from __future__ import annotations

import ssl
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpcore

from digest.adapters.feeds.addresses import AddressRefused, vetted_addresses

USER_AGENT = "digest-feeds/0.1 (the feed reader of a self-hosted newsletter)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class FetchLimits:
    timeout: float = 15.0  # seconds to connect, and between two reads
    deadline: float = 60.0  # seconds for the whole fetch, redirects included: a server dripping bytes stops
    max_bytes: int = 10 * 1024 * 1024  # the body, decompressed
    max_redirects: int = 5


DEFAULT_LIMITS = FetchLimits()


@dataclass(frozen=True, slots=True)
class Fetched:
    """A full answer (200) or "nothing new" (304, `body` empty)."""

    status: int
    url: str  # after redirects
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchFailed(Exception):
    """The feed could not be fetched; `status` is the HTTP status when the server answered."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class _VettingBackend(httpcore.SyncBackend):
    """Connects only to addresses the source may reach, checked when the connection is made."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        # The vetted addresses, not the name: resolving again could give another answer. TLS still checks the
        # certificate against the name (httpcore passes the URL's host as the server name).
        failed: Exception | None = None
        for address in vetted_addresses(host, port, allow_private=self.allow_private):
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failed = exc  # an IPv6 address without a route, say: the next may answer
        raise failed or httpcore.ConnectError(f"{host} has no address")


def checked_url(url: str) -> str:
    """`url` when it is an absolute http(s) URL with a host; FetchFailed naming what is wrong otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"}:
        raise FetchFailed(f"{url!r}: only http and https feeds are fetched, not {parts.scheme or 'a bare path'}")
    if not parts.hostname:
        raise FetchFailed(f"{url!r}: no host")
    if parts.username is not None or parts.password is not None:
        raise FetchFailed(f"{url!r}: a user or password in the URL is not accepted")
    host = parts.hostname
    if not host.isascii():
        host = host.encode("idna").decode("ascii")
        netloc = host if parts.port is None else f"{host}:{parts.port}"
        return parts._replace(netloc=netloc).geturl()
    return url.strip()


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    allow_private: bool = False,
    limits: FetchLimits = DEFAULT_LIMITS,
) -> Fetched:
    """GET `url` within `limits`; a 304 when the validators still hold; FetchFailed with the reason otherwise."""
    headers = [
        ("User-Agent", USER_AGENT),
        (
            "Accept",
            "application/rss+xml, application/atom+xml, "
            "application/feed+json, application/json;q=0.9, application/xml;q=0.9, */*;q=0.5",
        ),
        ("Accept-Encoding", "gzip, deflate"),
    ]
    if etag:
        headers.append(("If-None-Match", etag))
    if last_modified:
        headers.append(("If-Modified-Since", last_modified))
    started = time.monotonic()
    current = checked_url(url)
    with httpcore.ConnectionPool(
        ssl_context=ssl.create_default_context(), network_backend=_VettingBackend(allow_private), retries=0
    ) as pool:
        for _ in range(limits.max_redirects + 1):
            if time.monotonic() - started > limits.deadline:
                raise FetchFailed(f"still redirecting after {limits.deadline:g} s; stopped")
            fetched, location = _one_request(pool, current, headers, limits, started)
            if location is None:
                return fetched
            current = checked_url(urljoin(current, location))
    raise FetchFailed(f"more than {limits.max_redirects} redirects, the last to {current}", status=fetched.status)


def _one_request(
    pool: httpcore.ConnectionPool, url: str, headers: list[tuple[str, str]], limits: FetchLimits, started: float
) -> tuple[Fetched, str | None]:
    """One GET: the answer, and where it redirects to (None when it does not)."""
    timeouts = {"connect": limits.timeout, "read": limits.timeout, "write": limits.timeout, "pool": limits.timeout}
    try:
        with pool.stream("GET", url, headers=headers, extensions={"timeout": timeouts}) as response:
            answer = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
            status = response.status
            if status in REDIRECTS and answer.get("location"):
                return Fetched(status=status, url=url), answer["location"]
            if status == 304:
                return Fetched(status, url, etag=answer.get("etag"), last_modified=answer.get("last-modified")), None
            if status != 200:
                raise FetchFailed(f"the server answered {status}", status=status)
            body = _read_capped(response.iter_stream(), answer, limits, started)
    except AddressRefused as exc:
        raise FetchFailed(str(exc)) from exc
    except httpcore.TimeoutException as exc:
        raise FetchFailed(f"timed out after {limits.timeout:g} s: {type(exc).__name__}") from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
        raise FetchFailed(f"{type(exc).__name__}: {exc}") from exc
    except zlib.error as exc:
        raise FetchFailed(f"the compressed body is broken: {exc}", status=200) from exc
    fetched = Fetched(
        status=200,
        url=url,
        body=body,
        content_type=answer.get("content-type"),
        etag=answer.get("etag"),
        last_modified=answer.get("last-modified"),
    )
    return fetched, None


def _read_capped(chunks: Iterable[bytes], answer: dict[str, str], limits: FetchLimits, started: float) -> bytes:
    """The body, decompressed, stopped as soon as it passes the cap or the deadline: never held whole past it."""
    declared = answer.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes and "content-encoding" not in answer:
        raise FetchFailed(f"the body is {int(declared):,} bytes, over the cap of {limits.max_bytes:,}", status=200)
    decoder = _decoder(answer.get("content-encoding", "").strip().lower())
    kept = bytearray()
    for chunk in chunks:
        piece = decoder.decompress(chunk, limits.max_bytes + 1 - len(kept)) if decoder else chunk
        kept += piece
        if len(kept) > limits.max_bytes or (decoder is not None and decoder.unconsumed_tail):
            raise FetchFailed(f"the body passed the cap of {limits.max_bytes:,} bytes; stopped reading", status=200)
        if time.monotonic() - started > limits.deadline:
            raise FetchFailed(f"still reading after {limits.deadline:g} s; stopped", status=200)
    if decoder is not None and not decoder.eof:
        raise FetchFailed("the compressed body is broken: it ends early", status=200)
    return bytes(kept)


def _decoder(encoding: str) -> zlib._Decompress | None:
    if encoding in {"", "identity"}:
        return None
    if encoding in {"gzip", "x-gzip"}:
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    if encoding == "deflate":
        return zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # zlib-wrapped or gzip, as servers send "deflate"
    raise FetchFailed(f"content encoding {encoding!r} is not one this reader takes", status=200)
