"""The door: what a request may carry before any route, sign-in or CSRF check sees it.

Pure ASGI (no BaseHTTPMiddleware), so a refused body is never read, buffered or spooled:
a Content-Length over the route's cap is answered 413 at once, and a chunked body is
counted as it arrives and cut off with 413 the moment it passes the cap. Small bodies of
forms and JSON (bounded by the same cap) are read here once and replayed to the app, so
NUL bytes, lone surrogates and non-finite JSON numbers are refused with 400 naming the
parameter instead of surfacing as a database error (a 500) far down.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Path
from pydantic import AfterValidator
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from digest.web.security import ADMIN_COOKIE

# The console's own uploads are read up to 5 MiB; the rest of a multipart body is its framing and form fields.
MAX_UPLOAD = 5 * 1024 * 1024
UPLOAD_OVERHEAD = 64 * 1024
# Ids and numbers in paths are stored as PostgreSQL integers; one beyond fails in the database, as a 500.
MAX_DB_INT = 2**31 - 1
# Where the guard leaves a URL-encoded body's fields in the request's scope, for `posted_form`.
FORM_FIELDS = "digest.form_fields"
# A path number that names a row: positive and within the column's range, else a 4xx before any query.
RowNumber = Annotated[int, Path(ge=1, le=MAX_DB_INT)]

# Routes whose body may be a file or a long article: (method, path pattern).
UPLOAD_ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", r"/admin/articles/upload"),
    ("POST", r"/admin/subscribers/import"),
    ("POST", r"/admin/articles/\d+"),
    ("POST", r"/api/v1/articles"),
    ("POST", r"/api/v1/subscribers/imports"),
    ("PATCH", r"/api/v1/articles/\d+"),
    # A provider's batch: SNS messages reach 256 KiB, SendGrid posts its events in batches of several hundred.
    ("POST", r"/webhooks/(ses|mailgun|sendgrid|postmark(/[^/]+)?)"),
)
# Of those, the ones that take a file: nobody gets to send one without at least presenting a sign-in.
FILE_ROUTES = ("/admin/articles/upload", "/admin/subscribers/import", "/api/v1/subscribers/imports")


@dataclass(frozen=True)
class BodyLimits:
    """Caps on request bodies in bytes: `form` for every form and JSON body, `upload` on UPLOAD_ROUTES."""

    form: int = 64 * 1024
    upload: int = MAX_UPLOAD + UPLOAD_OVERHEAD
    upload_routes: tuple[tuple[str, str], ...] = UPLOAD_ROUTES
    _compiled: list[tuple[str, re.Pattern[str]]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        compiled = [(method, re.compile(pattern + r"/?\Z")) for method, pattern in self.upload_routes]
        object.__setattr__(self, "_compiled", compiled)

    def cap(self, method: str, path: str) -> int:
        for wanted, pattern in self._compiled:
            if method == wanted and pattern.match(path):
                return self.upload
        return self.form


class Refused(Exception):
    """The request is answered here with `status`; `field` names the parameter at fault, if one is."""

    def __init__(self, status: int, message: str, field: tuple[str, ...] = ()):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


# A search in C: a generator over every character of every header, cookie and field cost a public POST
# about a tenth of its server CPU.
_SURROGATE = re.compile("[\ud800-\udfff]")


def bad_text(value: str) -> str | None:
    """Why `value` cannot be stored as text (PostgreSQL refuses NUL; UTF-8 has no lone surrogates), or None."""
    if "\x00" in value:
        return "contains a NUL byte"
    if _SURROGATE.search(value):
        return "contains an unpaired surrogate"
    return None


def _storable(value: str) -> str:
    why = bad_text(value)
    if why:
        raise ValueError(why)
    return value


# For fields of multipart forms, which the guard does not parse: text the database can hold, or a 4xx.
StorableText = Annotated[str, AfterValidator(_storable)]


def check_pairs(pairs: list[tuple[str, str]], where: str) -> None:
    for name, value in pairs:
        for text in (name, value):
            why = bad_text(text)
            if why:
                raise Refused(400, f"{where} parameter {name!r} {why}", (where, name))


def check_json(value: Any, loc: tuple[str, ...] = ("body",)) -> None:
    """Every string and number of a parsed JSON body: text that can be stored, numbers that are finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            check_json(key, loc)
            check_json(item, (*loc, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_json(item, (*loc, str(index)))
    elif isinstance(value, str):
        why = bad_text(value)
        if why:
            raise Refused(400, f"field {'.'.join(loc[1:]) or 'body'!r} {why}", loc)
    elif isinstance(value, float) and not math.isfinite(value):
        raise Refused(400, f"field {'.'.join(loc[1:]) or 'body'!r} is not a finite number", loc)


def check_url(scope: Scope) -> None:
    path = scope.get("path", "")
    why = bad_text(path)
    if why:
        raise Refused(400, f"path {why}", ("path",))
    query = scope.get("query_string", b"").decode("latin-1")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise Refused(400, "query string is not UTF-8", ("query",)) from None
    check_pairs(pairs, "query")


def check_body(content_type: str, body: bytes) -> list[tuple[str, str]] | None:
    """Refuses text the database cannot hold; returns a URL-encoded form's fields (as Starlette reads them)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True, errors="strict")
        except UnicodeDecodeError:
            raise Refused(400, "form body is not UTF-8", ("body",)) from None
        check_pairs(pairs, "form")
        return pairs
    if not body:
        return None
    if content_type.startswith("application/json") or content_type.endswith("+json"):
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # FastAPI answers malformed JSON itself, with its own 422
        check_json(parsed)
    return None


async def posted_form(request: Request) -> FormData:
    """The request's form: as the guard read it for a URL-encoded body (the busy public POSTs: parsing it a
    second time, in python-multipart, cost them a tenth of their CPU), else as Starlette reads it."""
    pairs = request.scope.get(FORM_FIELDS)
    return FormData(pairs) if pairs is not None else await request.form()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _declared_length(scope: Scope) -> int | None:
    raw = _header(scope, b"content-length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise Refused(400, "Content-Length is not a number", ("header", "content-length"))
    return int(raw)


def _presents_credentials(scope: Scope) -> bool:
    if _header(scope, b"authorization"):
        return True
    cookies = _header(scope, b"cookie") or ""
    return any(part.strip().startswith(ADMIN_COOKIE + "=") for part in cookies.split(";"))


# What a browser is shown: the app's own pages are out of reach here (this runs before it), so a page of
# its own, in both languages, naming the field and linking back into the site.
_REFUSAL_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>请求无效 · Bad request</title><link rel="stylesheet" href="/static/web.css"></head>
<body><main class="wrap"><h1>请求无效 · <span lang="en">Bad request</span></h1>
<p>我们没有做任何更改，请返回修改后重新提交。</p>
<p lang="en">Nothing was changed: go back, correct it and send it again.</p>
<p><code lang="en">{message}</code></p>
<p><a href="{back}">返回 · <span lang="en">Back</span></a></p></main></body></html>
"""


def refusal_message(exc: Refused, path: str, accept: str = "") -> tuple[dict[str, Any] | str, str]:
    """(body, media type): API clients get FastAPI's error shape, with the field in `loc`; a browser gets a
    page saying what was refused; anything else plain text."""
    if path.startswith("/api/"):
        return {"detail": [{"type": "value_error", "loc": list(exc.field), "msg": exc.message}]}, "application/json"
    if "text/html" in accept:
        back = "/admin/" if path.startswith("/admin") else "/"
        return _REFUSAL_PAGE.format(
            message=html.escape(exc.message, quote=False), back=back
        ), "text/html; charset=utf-8"
    return exc.message + "\n", "text/plain; charset=utf-8"


async def send_refusal(send: Send, exc: Refused, path: str, accept: str = "") -> None:
    body, media = refusal_message(exc, path, accept)
    data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
    headers = [
        (b"content-type", media.encode()),
        (b"content-length", str(len(data)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RequestGuard:
    """ASGI middleware: caps bodies per route and refuses text the database cannot hold (see the module doc)."""

    def __init__(self, app: ASGIApp, limits: BodyLimits | None = None):
        self.app = app
        self.limits = limits or BodyLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        try:
            check_url(scope)
            cap = self.limits.cap(scope["method"], path)
            length = _declared_length(scope)
            if length is not None and length > cap:
                raise Refused(413, f"request body over {cap} bytes")
            if path.rstrip("/") in FILE_ROUTES and scope["method"] == "POST" and not _presents_credentials(scope):
                raise Refused(401, "sign in before uploading")
            content_type = (_header(scope, b"content-type") or "").lower()
            if cap == self.limits.form or not content_type.startswith("multipart/"):
                body = await _read_capped(receive, cap)
                fields = check_body(content_type, body)
                if fields is not None:
                    scope[FORM_FIELDS] = fields
                receive = _replay(body, receive)
        except Refused as exc:
            await send_refusal(send, exc, path, _header(scope, b"accept") or "")
            return
        await _run_counted(self.app, scope, receive, send, cap)


async def _read_capped(receive: Receive, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refused(400, "client went away mid-body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise Refused(413, f"request body over {cap} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _run_counted(app: ASGIApp, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
    """Runs `app`, counting the body it reads; past `cap`, answers 413 and tells the app the client left."""
    state = {"size": 0, "started": False, "refused": False}

    async def counted() -> Message:
        if state["refused"]:
            return {"type": "http.disconnect"}
        message = await receive()
        state["size"] += len(message.get("body", b""))
        if state["size"] > cap:
            state["refused"] = True
            if not state["started"]:
                state["started"] = True
                await send_refusal(send, Refused(413, f"request body over {cap} bytes"), scope.get("path", ""))
            return {"type": "http.disconnect"}
        return message

    async def guarded_send(message: Message) -> None:
        if state["refused"]:
            return  # the 413 went out; what the app says after is dropped
        if message["type"] == "http.response.start":
            state["started"] = True
        await send(message)

    try:
        await app(scope, counted, guarded_send)
    except Exception:
        if not state["refused"]:
            raise
