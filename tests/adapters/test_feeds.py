"""Fetching and parsing feeds from a real HTTP server on loopback: formats, encodings, limits, refusals."""

from __future__ import annotations

import gzip
import ipaddress
import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import pytest
from feedserver import Route, feed_server, rss

from digest.adapters.feeds.addresses import AddressRefused, vetted_addresses, why_refused
from digest.adapters.feeds.fetch import FetchFailed, FetchLimits, fetch_feed
from digest.adapters.feeds.parse import parse_feed
from digest.core.feed_items import FeedUnreadable

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>农业农村部</title><id>urn:moa</id>
<updated>2026-11-18T10:00:00+08:00</updated>
<entry><id>urn:moa:1</id><title>全国秋粮收获进度过九成</title><link href="/news/1.html"/>
<updated>2026-11-18T10:00:00+08:00</updated><content type="html">&lt;p&gt;秋收&lt;/p&gt;</content></entry>
</feed>""".encode()

JSON_FEED = json.dumps(
    {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "乡村观察",
        "items": [
            {
                "id": "j1",
                "url": "https://news.example.org/j1",
                "title": "安康茶园",
                "content_html": "<p>春茶</p>",
                "date_published": "2026-11-19T09:30:00+08:00",
            },
            {"id": 2, "title": "无日期", "content_text": "第一段 <b>不是标签</b>\n\n第二段"},
            "not an item",
        ],
    },
    ensure_ascii=False,
).encode()


def test_rss_atom_and_json_feed_are_read_into_items():
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(
            rss(
                "三农新闻",
                [
                    {
                        "title": "怀化柑橘丰收",
                        "link": "https://news.example.org/1",
                        "guid": "n-1",
                        "pubDate": "Tue, 17 Nov 2026 08:00:00 +0800",
                        "description": "<p>丰收</p>",
                    }
                ],
            ),
            content_type="application/rss+xml; charset=utf-8",
        )
        server.routes["/atom.xml"] = Route(ATOM, content_type="application/atom+xml")
        server.routes["/feed.json"] = Route(JSON_FEED, content_type="application/feed+json")
        feeds = {}
        for path in ("/rss.xml", "/atom.xml", "/feed.json"):
            fetched = fetch_feed(server.url(path), allow_private=True)
            feeds[path] = parse_feed(fetched.body, url=fetched.url, content_type=fetched.content_type)
        agents = {seen.headers["user-agent"] for seen in server.requests}
    rss_feed, atom, json_feed = feeds["/rss.xml"], feeds["/atom.xml"], feeds["/feed.json"]
    assert rss_feed.title == "三农新闻"
    [item] = rss_feed.items
    assert (item.title, item.guid, item.link, item.html) == (
        "怀化柑橘丰收",
        "n-1",
        "https://news.example.org/1",
        "<p>丰收</p>",
    )
    assert item.published == datetime(2026, 11, 17, 0, 0, tzinfo=UTC)
    [entry] = atom.items
    # A relative link resolves against the URL the feed came from.
    assert (entry.title, entry.guid, entry.link) == ("全国秋粮收获进度过九成", "urn:moa:1", server.url("/news/1.html"))
    assert entry.published == datetime(2026, 11, 18, 10, tzinfo=timezone(timedelta(hours=8)))
    assert json_feed.title == "乡村观察" and [i.title for i in json_feed.items] == ["安康茶园", "无日期"]
    assert json_feed.items[1].guid == "2" and json_feed.items[1].published is None
    assert json_feed.items[1].html == "<p>第一段 &lt;b&gt;不是标签&lt;/b&gt;</p><p>第二段</p>"
    assert json_feed.problems == ("item 3: not an object with a title or text",)
    assert len(agents) == 1 and "digest" in agents.pop()


@pytest.mark.parametrize("declared_in", ["header", "xml declaration"])
def test_a_feed_in_gb18030_reads_right(declared_in):
    body = rss("三农新闻（GB18030）", [{"title": "汉滨区富硒茶𠀀", "guid": "g-1"}], encoding="GB18030")
    content_type = "application/rss+xml; charset=GB18030" if declared_in == "header" else "application/xml"
    if declared_in == "header":
        body = body.replace(b' encoding="GB18030"', b"")
    with feed_server() as server:
        server.routes["/gb.xml"] = Route(body, content_type=content_type)
        fetched = fetch_feed(server.url("/gb.xml"), allow_private=True)
    feed = parse_feed(fetched.body, url=fetched.url, content_type=fetched.content_type)
    assert feed.title == "三农新闻（GB18030）" and [i.title for i in feed.items] == ["汉滨区富硒茶𠀀"]


def test_a_second_fetch_with_the_etag_gets_a_304():
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(
            rss("t", [{"title": "a", "guid": "1"}]),
            etag='"v1"',
            headers={"Last-Modified": "Mon, 16 Nov 2026 00:00:00 GMT"},
        )
        first = fetch_feed(server.url("/rss.xml"), allow_private=True)
        second = fetch_feed(
            server.url("/rss.xml"), etag=first.etag, last_modified=first.last_modified, allow_private=True
        )
        sent = server.requests[1].headers
    assert (first.status, first.etag, first.last_modified) == (200, '"v1"', "Mon, 16 Nov 2026 00:00:00 GMT")
    assert second.not_modified and second.body == b""
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Mon, 16 Nov 2026 00:00:00 GMT"


def test_a_server_error_fails_with_its_status():
    with feed_server() as server:
        server.routes["/broken"] = Route(b"oops", status=500)
        with pytest.raises(FetchFailed, match="answered 500") as failed:
            fetch_feed(server.url("/broken"), allow_private=True)
    assert failed.value.status == 500


def test_a_redirect_loop_is_refused_after_five_hops():
    with feed_server() as server:
        server.routes["/loop"] = Route(status=302, location="/loop")
        with pytest.raises(FetchFailed, match="more than 5 redirects"):
            fetch_feed(server.url("/loop"), allow_private=True)
        assert server.paths() == ["/loop"] * 6


def test_redirects_are_followed_and_a_redirect_to_another_scheme_is_refused():
    with feed_server() as server:
        server.routes["/old"] = Route(status=301, location="/rss.xml")
        server.routes["/rss.xml"] = Route(rss("t", [{"title": "a", "guid": "1"}]))
        server.routes["/to-file"] = Route(status=302, location="file:///etc/passwd")
        fetched = fetch_feed(server.url("/old"), allow_private=True)
        with pytest.raises(FetchFailed, match="only http and https"):
            fetch_feed(server.url("/to-file"), allow_private=True)
    assert fetched.url == server.url("/rss.xml") and b"<rss" in fetched.body


def test_a_50_mb_body_is_stopped_at_the_cap_without_holding_it():
    with feed_server() as server:
        server.routes["/big"] = Route(size=50 * 1024 * 1024)
        tracemalloc.start()
        try:
            with pytest.raises(FetchFailed, match="passed the cap of 10,485,760 bytes"):
                fetch_feed(server.url("/big"), allow_private=True)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 3 * 10 * 1024 * 1024


def test_a_server_dripping_bytes_is_left_at_the_deadline():
    limits = FetchLimits(timeout=5, deadline=1.0)
    with feed_server() as server:
        server.routes["/drip"] = Route(size=1024 * 1024, drip=0.05)
        started = time.monotonic()
        with pytest.raises(FetchFailed, match="still reading after 1 s"):
            fetch_feed(server.url("/drip"), allow_private=True, limits=limits)
    assert time.monotonic() - started < 3


def test_a_compressed_body_is_capped_once_inflated():
    bomb = gzip.compress(b"<" * (30 * 1024 * 1024))  # 30 KB on the wire
    feed = gzip.compress(rss("压缩", [{"title": "a", "guid": "1"}]))
    with feed_server() as server:
        server.routes["/bomb"] = Route(bomb, headers={"Content-Encoding": "gzip"})
        server.routes["/gz"] = Route(feed, headers={"Content-Encoding": "gzip"})
        with pytest.raises(FetchFailed, match="passed the cap"):
            fetch_feed(server.url("/bomb"), allow_private=True)
        server.routes["/broken-gz"] = Route(feed[:40], headers={"Content-Encoding": "gzip"})
        server.routes["/not-gz"] = Route(b"plain text", headers={"Content-Encoding": "deflate"})
        for path in ("/broken-gz", "/not-gz"):
            with pytest.raises(FetchFailed, match="the compressed body is broken"):
                fetch_feed(server.url(path), allow_private=True)
        fetched = fetch_feed(server.url("/gz"), allow_private=True)
    assert parse_feed(fetched.body, url=fetched.url).title == "压缩"


def test_a_loopback_source_is_refused_without_the_allowance_and_nothing_is_asked():
    with feed_server() as server:
        server.routes["/rss.xml"] = Route(rss("t", [{"title": "a", "guid": "1"}]))
        with pytest.raises(FetchFailed, match=r"127\.0\.0\.1 is a loopback address: refused unless an admin allows"):
            fetch_feed(server.url("/rss.xml"))
        localhost = server.url("/rss.xml").replace("127.0.0.1", "localhost")
        with pytest.raises(FetchFailed, match=r"localhost resolves to .*loopback"):
            fetch_feed(localhost)
        assert server.requests == []
        assert fetch_feed(server.url("/rss.xml"), allow_private=True).status == 200


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://news.example.org/feed",
        "gopher://x/",
        "/feed.xml",
        "http://user:secret@news.example.org/feed",
        "http:///nohost",
    ],
)
def test_a_url_that_is_not_plain_http_is_refused(url):
    with pytest.raises(FetchFailed):
        fetch_feed(url, allow_private=True)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "224.0.0.1",
        "0.0.0.0",
        "240.0.0.1",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "64:ff9b::a9fe:a9fe",
        "2002:7f00:1::1",
    ],
)
def test_addresses_that_are_not_public_are_refused(address):
    assert why_refused(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "64:ff9b::5db8:d822"])
def test_public_addresses_are_allowed(address):
    assert why_refused(ipaddress.ip_address(address)) is None


def test_vetting_resolves_names_and_the_allowance_lets_private_ones_through():
    with pytest.raises(AddressRefused, match="localhost resolves to"):
        vetted_addresses("localhost", 80, allow_private=False)
    assert "127.0.0.1" in vetted_addresses("localhost", 80, allow_private=True)


def test_bytes_that_are_no_feed_are_unreadable():
    with pytest.raises(FeedUnreadable, match="not an RSS, Atom or JSON feed"):
        parse_feed(b"<html><body>a page</body></html>", url="https://news.example.org/", content_type="text/html")
    with pytest.raises(FeedUnreadable, match="not a JSON Feed"):
        parse_feed(b'{"hello": 1}', url="https://news.example.org/", content_type="application/json")


def test_an_html_title_is_read_as_text_and_a_guid_that_is_no_url_is_no_link():
    atom = (
        '<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        '<entry><id>urn:1</id><title type="html">&lt;b&gt;湖南&lt;/b&gt; &amp;amp; 怀化</title></entry>'
        '<entry><id>tag:2</id><title>a &amp; &lt;b&gt;</title><link href="/p/2"/></entry></feed>'
    ).encode()
    first, second = parse_feed(atom, url="https://news.example.org/feed", content_type="application/atom+xml").items
    assert (first.title, first.link) == ("湖南 & 怀化", None)
    assert (second.title, second.link) == ("a & <b>", "https://news.example.org/p/2")
    feed = parse_feed(
        rss("r", [{"guid": "n-1", "title": "t"}, {"guid": "https://n.example.org/3", "title": "u"}]),
        url="https://news.example.org/feed",
    )
    assert [(i.guid, i.link) for i in feed.items] == [
        ("n-1", None),
        ("https://n.example.org/3", "https://n.example.org/3"),
    ]
