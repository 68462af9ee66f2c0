"""Hostile requests at the door: oversized and endless bodies, NUL bytes, huge integers, NaN; never a 5xx."""

from __future__ import annotations

import dataclasses
import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from fixtures_db import make_settings
from personas import ZHOU_ADMIN
from webutil import LIST, SITE_NOW, add_staff, api_token, csrf_from, seed, sign_in

from digest.core.clock import FixedClock
from digest.web import create_app
from digest.web.guard import MAX_UPLOAD, BodyLimits

FORM_CAP = BodyLimits().form
# Every capped route, with the cap it gets: forms and JSON the small one, uploads and long articles the large.
CAPPED = [
    ("POST", "/admin/login", FORM_CAP),
    ("POST", f"/lists/{LIST}/subscribe", FORM_CAP),
    ("POST", "/admin/password", FORM_CAP),
    ("POST", "/admin/issues", FORM_CAP),
    ("POST", "/api/v1/subscribers", FORM_CAP),
    ("PATCH", f"/api/v1/lists/{LIST}", FORM_CAP),
    ("POST", "/admin/articles/upload", BodyLimits().upload),
    ("POST", "/admin/subscribers/import", BodyLimits().upload),
    ("POST", "/api/v1/articles", BodyLimits().upload),
    ("POST", "/api/v1/subscribers/imports", BodyLimits().upload),
]


def _app(url, tmp_path, **options):
    settings = dataclasses.replace(make_settings(url, tmp_path), clock=FixedClock(SITE_NOW))
    seed(url)
    return create_app(settings, **options)


@pytest.fixture
def admin(sqlite_url, tmp_path):
    """A client signed in to the console as an admin and carrying an API token, on SQLite."""
    add_staff(sqlite_url, ZHOU_ADMIN)
    with TestClient(_app(sqlite_url, tmp_path)) as client:
        sign_in(client, ZHOU_ADMIN)
        client.headers["Authorization"] = f"Bearer {api_token(sqlite_url, ZHOU_ADMIN)}"
        yield client


@pytest.mark.parametrize(("method", "path", "cap"), CAPPED)
def test_a_declared_length_over_the_routes_cap_is_refused_413_before_anything_reads_it(admin, method, path, cap):
    # The body is one byte; only the header lies. A 413 means nobody waited for the rest.
    response = admin.request(method, path, content=b"x", headers={"Content-Length": str(cap + 1)})
    assert response.status_code == 413
    assert "request body over" in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(("method", "path", "cap"), CAPPED)
def test_a_chunked_body_over_the_routes_cap_is_refused_413(admin, method, path, cap):
    # No Content-Length: the guard has to count. (The test client gathers a body before sending it, so
    # that the guard stops reading early is shown against a real server below.)
    def chunks():
        for _ in range(cap // 8192 + 1):
            yield b"a" * 8192

    response = admin.request(
        method, path, content=chunks(), headers={"Content-Type": "multipart/form-data; boundary=x"}
    )
    assert response.status_code == 413
    assert "request body over" in response.text


def test_a_form_under_the_cap_still_works_and_the_upload_routes_take_a_file_up_to_max_upload(admin):
    page = admin.get("/admin/articles/upload")
    token = re.findall(r'action="/admin/articles/upload".*?name="csrf_token" value="([^"]+)"', page.text, re.S)[0]
    big = b"x" * (MAX_UPLOAD + 1)  # over the handler's own limit, under the door's: the page says so
    response = admin.post(
        "/admin/articles/upload",
        data={"csrf_token": token, "fmt": "auto", "list": LIST},
        files={"file": ("week.txt", big, "text/plain")},
    )
    assert response.status_code == 400
    assert "5" in response.text and "MB" in response.text


def test_an_upload_without_a_sign_in_is_refused_before_its_body_is_read(sqlite_url, tmp_path):
    with TestClient(_app(sqlite_url, tmp_path)) as client:
        read = []

        def body():
            read.append(1)
            yield b"--x\r\n"

        for path in ("/admin/articles/upload", "/admin/subscribers/import", "/api/v1/subscribers/imports"):
            response = client.post(path, content=body(), headers={"Content-Type": "multipart/form-data; boundary=x"})
            assert response.status_code == 401
    assert read == []


def test_nul_bytes_in_the_login_form_are_refused_naming_the_field(sqlite_url, tmp_path):
    with TestClient(_app(sqlite_url, tmp_path)) as client:
        page = client.get("/admin/login")
        response = client.post(
            "/admin/login", data={"email": "a\x00@example.org", "password": "x", "csrf_token": csrf_from(page.text)}
        )
    assert response.status_code == 400
    assert "'email'" in response.text and "NUL" in response.text


def test_a_browser_is_shown_a_page_naming_the_refused_field_with_a_way_back(sqlite_url, tmp_path):
    with TestClient(_app(sqlite_url, tmp_path)) as client:
        page = client.get("/admin/login")
        response = client.post(
            "/admin/login",
            data={"email": "a\x00<b>@example.org", "password": "x", "csrf_token": csrf_from(page.text)},
            headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
        )
        public = client.post(f"/lists/{LIST}/subscribe", data={"name": "\x00"}, headers={"Accept": "text/html"})
    assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")
    assert "form parameter 'email' contains a NUL byte" in response.text and "请求无效" in response.text
    assert 'href="/admin/"' in response.text and "<b>" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert public.status_code == 400 and "'name'" in public.text and 'href="/"' in public.text


def test_nan_and_infinity_in_json_are_refused_naming_the_field(admin):
    body = '{"email": "nan@example.org", "name": "N", "regions": [], "topics": [], "extra": NaN}'
    response = admin.post("/api/v1/subscribers", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "extra"]
    response = admin.patch(
        f"/api/v1/lists/{LIST}", content='{"send_hour": Infinity}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["body", "send_hour"]


def test_a_nul_or_lone_surrogate_in_a_json_string_is_refused_naming_the_field(admin):
    for text in ('"a\\u0000b"', '"a\\ud800b"'):
        body = '{"email": "s@example.org", "name": ' + text + ', "regions": [], "topics": []}'
        response = admin.post("/api/v1/subscribers", content=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, text
        assert response.json()["detail"][0]["loc"] == ["body", "name"]


def _query_names(dependant) -> list[str]:
    """The query parameters a route reads, the fields of query models included."""
    if dependant is None:
        return []
    names = []
    for param in dependant.query_params:
        model = getattr(param.field_info, "annotation", None)
        if isinstance(model, type) and hasattr(model, "model_fields"):
            names += [f.alias or n for n, f in model.model_fields.items()]
        else:
            names.append(param.alias)
    for sub in dependant.dependencies:
        names += _query_names(sub)
    return names


def _hostile_paths(app):
    """(method, url) for every route: NUL in each path parameter, an over-range number, NUL in each query name."""
    for route in iter_route_contexts(app.routes):
        original = route.original_route
        methods = sorted(getattr(original, "methods", None) or {"GET"})
        path = route.path or ""
        if path == "/static":
            path = "/static/{file}"
        queries = _query_names(getattr(original, "dependant", None))
        query = "&".join(f"{q}=%00" for q in queries or ["q"])
        for value in ("a%00b", "2147483648", "-1"):
            url = re.sub(r"\{[^}]+\}", value, path) + "?" + query
            for method in methods:
                if method != "HEAD":
                    yield method, url


def test_every_route_answers_hostile_paths_and_queries_without_a_5xx(database_url, tmp_path):
    add_staff(database_url, ZHOU_ADMIN)
    with TestClient(_app(database_url, tmp_path), raise_server_exceptions=False) as client:
        sign_in(client, ZHOU_ADMIN)
        client.headers["Authorization"] = f"Bearer {api_token(database_url, ZHOU_ADMIN)}"
        failures = []
        for method, url in _hostile_paths(client.app):
            response = client.request(method, url, data={"email": "a\x00b", "name": "\x00"})
            if response.status_code >= 500:
                failures.append((method, url, response.status_code))
        assert failures == []


def test_nul_values_are_refused_with_400_naming_the_parameter(admin):
    response = admin.get("/admin/subscribers?q=a%00b")
    assert response.status_code == 400 and "'q'" in response.text
    response = admin.get("/api/v1/subscribers?q=a%00b")
    assert response.status_code == 400
    assert response.json()["detail"][0]["loc"] == ["query", "q"]
    assert admin.get("/lists/%00/archive").status_code == 400


def test_an_archive_number_beyond_the_database_integer_is_not_found(database_url, tmp_path):
    with TestClient(_app(database_url, tmp_path), raise_server_exceptions=False) as client:
        response = client.get(f"/lists/{LIST}/archive/2147483648")
    assert 400 <= response.status_code < 500


class _CountingApp:
    """Counts the body bytes the guarded app is handed, so the test sees the guard stopped reading."""

    def __init__(self, app):
        self.app = app
        self.received = 0

    async def __call__(self, scope, receive, send):
        async def counted():
            message = await receive()
            self.received += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture
def live_server(sqlite_url, tmp_path):
    """The app under uvicorn on a loopback port, in a thread; yields (port, the byte counter)."""
    import socket
    import threading

    import uvicorn

    counting = _CountingApp(_app(sqlite_url, tmp_path))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(counting, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        thread.join(0.01)
    yield sock.getsockname()[1], counting
    server.should_exit = True
    thread.join(10)


def _status(conn) -> int:
    line = conn.makefile("rb").readline()
    return int(line.split()[1])


def test_a_real_server_answers_413_to_a_huge_content_length_without_reading_it(live_server):
    import socket

    port, counting = live_server
    # The timeout only turns a server that waits for the 800 MB into a failure instead of a hang.
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        conn.sendall(
            f"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {800 * 1024 * 1024}\r\n\r\n".encode()
            + b"a" * 1024
        )
        assert _status(conn) == 413
    assert counting.received == 0


def test_a_real_server_cuts_an_endless_chunked_body_off_with_413(live_server):
    import socket

    port, counting = live_server
    chunk = b"2000\r\n" + b"a" * 0x2000 + b"\r\n"
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(
            b"POST /lists/" + LIST.encode() + b"/subscribe HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        answered = None
        for _ in range(10_000):  # 80 MiB if nobody stops us; the cap is 64 KiB
            try:
                conn.sendall(chunk)
            except OSError:
                break  # the server closed the connection after answering
            conn.settimeout(0)
            try:
                answered = conn.recv(64)
            except BlockingIOError:
                continue
            finally:
                conn.settimeout(None)
            if answered:
                break
        if not answered:
            answered = conn.recv(64)
    assert answered.startswith(b"HTTP/1.1 413")
    # uvicorn hands the app what it has buffered, up to its flow control's high-water mark, in one message:
    # a busy machine lets one more message's worth in before the cap is seen; never the 80 MiB.
    from uvicorn.protocols.http.flow_control import HIGH_WATER_LIMIT

    assert counting.received <= FORM_CAP + HIGH_WATER_LIMIT + 4 * 0x2000


def test_nul_in_uploaded_files_and_their_form_fields_is_a_4xx_or_a_reported_line_never_a_500(database_url, tmp_path):
    from webutil import form_csrf

    add_staff(database_url, ZHOU_ADMIN)
    with TestClient(_app(database_url, tmp_path), raise_server_exceptions=False) as client:
        sign_in(client, ZHOU_ADMIN)
        token = form_csrf(client.get("/admin/subscribers/import").text, "/admin/subscribers/import")
        people = b"email,name\nx@example.org,a\x00b\n"
        imported = client.post(
            "/admin/subscribers/import", data={"csrf_token": token}, files={"file": ("a.csv", people, "text/csv")}
        )
        assert imported.status_code == 400
        assert "是 NUL" in imported.text

        token = form_csrf(client.get("/admin/articles/upload").text, "/admin/articles/upload")
        line = (
            '{"title": "t\\u0000", "body": "b", "topic": "产业发展", "regions": ["全国"], "published": "2026-11-17"}\n'
        )
        fields = {"csrf_token": token, "fmt": "auto", "list": LIST}
        upload = client.post("/admin/articles/upload", data=fields, files={"file": ("a.jsonl", line.encode(), "x/y")})
        assert upload.status_code < 500
        assert "title 字段含有控制字符" in upload.text  # the line is reported by field, the rest of the file kept

        fields["list"] = "rural\x00weekly"
        named = client.post("/admin/articles/upload", data=fields, files={"file": ("a.jsonl", line.encode(), "x/y")})
        assert named.status_code == 400
