"""The renderer itself never fetches: an @import or a <link> in a template or an article body makes no request,
whatever stood in front of it (the sanitiser is one guard, not the only one)."""

from __future__ import annotations

import dataclasses
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_rendering import LI, make_digest

from digest.core.domain import Section
from digest.core.rendering import inline_css, make_environment, render_digest, templates_dir


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str]

    def do_GET(self) -> None:
        self.paths.append(self.path)
        body = b"p { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def css_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every path asked of it."""
    paths: list[str] = []
    handler = type("Recorder", (_Recorder,), {"paths": paths})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", paths
    finally:
        server.shutdown()
        server.server_close()


def _fetching_markup(base: str, where: str) -> str:
    return (
        f'<style>@import url({base}/{where}-url.css); @import "{base}/{where}-string.css"; p {{ margin: 0 }}</style>'
        f'<link rel="stylesheet" href="{base}/{where}-link.css">'
    )


def test_inlining_css_with_imports_and_links_fetches_nothing(css_server):
    base, paths = css_server
    head, body = _fetching_markup(base, "head"), _fetching_markup(base, "body")
    html = f"<html><head>{head}</head><body><p>x</p>{body}</body></html>"
    inlined = inline_css(html)
    assert "<p" in inlined
    assert paths == []


def test_rendering_a_digest_whose_template_and_article_import_css_fetches_nothing(css_server, tmp_path: Path):
    base, paths = css_server
    templates = tmp_path / "templates"
    shutil.copytree(templates_dir(), templates)
    page = templates / "base.html"
    page.write_text(page.read_text().replace("<style>", f"<style>@import url({base}/template.css);\n", 1))
    assert f"{base}/template.css" in page.read_text()
    digest = make_digest()
    first = digest.sections[0]
    hostile = dataclasses.replace(
        first.articles[0], body_html=first.articles[0].body_html + _fetching_markup(base, "article")
    )
    digest = dataclasses.replace(digest, sections=(Section(first.topic, (hostile,)), *digest.sections[1:]))
    rendered = render_digest(digest, LI, make_environment(templates))
    assert "部署全面推进乡村振兴工作" in rendered.html
    assert paths == []
