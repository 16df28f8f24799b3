"""Safe fetching against a real HTTP server on 127.0.0.1: conditional GET, rate limits, timeouts,
size caps, compression bombs, redirects and the SSRF guard."""

from __future__ import annotations

import ipaddress
import zlib
from datetime import UTC, datetime, timedelta

import pytest

from tests.feedserver import FeedServer
from tracker.feeds.fetching import (
    FetchLimits,
    _is_blocked_ip,
    fetch,
    make_client,
    parse_retry_after,
    resolve_checked,
)

NOW = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)
RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>
<item><title>Prisoner exchange</title><link>https://example.org/a</link></item></channel></rss>"""
LOCAL = FetchLimits(
    allowed_hosts=frozenset({"127.0.0.1"}), connect_timeout=2, read_timeout=2, total_timeout=10
)


def test_ok_returns_body_and_validators(srv):
    srv.route("/f", body=RSS, etag='"v1"', last_modified="Mon, 01 Sep 2025 10:00:00 GMT")
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert r.status == "ok", r.error_message
    assert r.http_status == 200
    assert r.body == RSS
    assert r.etag == '"v1"'
    assert r.last_modified == "Mon, 01 Sep 2025 10:00:00 GMT"
    assert "rss" in r.content_type


def test_conditional_get_sends_validators_and_reports_not_modified(srv):
    srv.route("/f", body=RSS, etag='"v1"')
    r = fetch(
        srv.url("/f"), now=NOW, limits=LOCAL, etag='"v1"', last_modified="Mon, 01 Sep 2025 10:00:00 GMT"
    )
    assert r.status == "not_modified"
    assert r.body == b""
    sent = srv.headers_for("/f")[-1]
    assert sent["If-None-Match"] == '"v1"'
    assert sent["If-Modified-Since"] == "Mon, 01 Sep 2025 10:00:00 GMT"
    assert "gzip" in sent["Accept-Encoding"]


def test_429_with_retry_after_seconds(srv):
    srv.route("/f", status=429, body=b"slow down", headers={"Retry-After": "120"})
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert r.status == "error"
    assert r.error_kind == "rate_limited"
    assert "HTTP 429" in r.error_message
    assert r.retry_after == NOW + timedelta(seconds=120)


def test_503_with_retry_after_date(srv):
    srv.route("/f", status=503, headers={"Retry-After": "Mon, 01 Sep 2025 13:30:00 GMT"})
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "unavailable")
    assert r.retry_after == datetime(2025, 9, 1, 13, 30, tzinfo=UTC)


def test_retry_after_is_capped_and_garbage_ignored():
    assert parse_retry_after("99999999", NOW) == NOW + timedelta(days=2)
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after("Mon, 01 Sep 2025 11:00:00 GMT", NOW) is None  # in the past


@pytest.mark.parametrize("status", [500, 404, 410])
def test_http_errors_have_clear_messages(srv, status):
    srv.route("/f", status=status, body=b"oops")
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind, r.http_status) == ("error", "http_status", status)
    assert f"HTTP {status}" in r.error_message
    assert srv.url("/f") in r.error_message


def test_stalled_server_hits_read_timeout(srv):
    srv.route("/f", body=RSS, stall=5)
    limits = FetchLimits(allowed_hosts=frozenset({"127.0.0.1"}), read_timeout=0.3)
    r = fetch(srv.url("/f"), now=NOW, limits=limits)
    assert (r.status, r.error_kind) == ("error", "timeout")
    assert "stopped sending data" in r.error_message
    assert r.elapsed < 3


def test_endless_slow_body_stops_at_total_deadline(srv):
    srv.route("/f", body=b"<rss>" + b" " * 100, endless=True, chunk_delay=0.05)
    limits = FetchLimits(allowed_hosts=frozenset({"127.0.0.1"}), read_timeout=1, total_timeout=0.8)
    r = fetch(srv.url("/f"), now=NOW, limits=limits)
    assert (r.status, r.error_kind) == ("error", "timeout")
    assert "total time limit" in r.error_message
    assert r.elapsed < 3


def test_50_mb_body_is_refused_at_the_cap(srv):
    srv.route("/f", body=RSS, generated_size=50 * 1024 * 1024)
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)  # default cap: 10 MB
    assert (r.status, r.error_kind) == ("error", "too_large")
    assert "10,485,760" in r.error_message
    assert r.body == b""


def test_declared_oversized_body_is_not_read(srv):
    srv.route("/f", body=b"x" * 2_000_000)
    limits = FetchLimits(allowed_hosts=frozenset({"127.0.0.1"}), max_bytes=1_000_000)
    r = fetch(srv.url("/f"), now=NOW, limits=limits)
    assert r.error_kind == "too_large"
    assert "not read" in r.error_message


def test_gzip_body_is_decoded(srv):
    srv.route("/f", body=RSS, gzip=True)
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert r.status == "ok", r.error_message
    assert r.body == RSS


def _gzip_bomb(decoded_size: int) -> bytes:
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1024 * 1024)
    out = [co.compress(zeros) for _ in range(decoded_size // len(zeros))]
    out.append(co.flush())
    return b"".join(out)


def test_gzip_bomb_stops_at_decoded_cap(srv):
    bomb = _gzip_bomb(200 * 1024 * 1024)  # 200 MB of zeros, ~200 KB compressed
    assert len(bomb) < 1024 * 1024
    srv.route("/f", raw_gzip=bomb)
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "too_large")
    assert "after decompression" in r.error_message


def test_corrupt_gzip_is_a_decode_error(srv):
    srv.route("/f", raw_gzip=b"\x1f\x8b\x08\x00garbage-not-gzip" * 10)
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "decode")
    assert "corrupt" in r.error_message


def test_redirect_is_followed_and_permanent_move_reported(srv):
    srv.route("/old", status=301, redirect_to="/new")
    srv.route("/new", body=RSS)
    r = fetch(srv.url("/old"), now=NOW, limits=LOCAL)
    assert r.status == "ok"
    assert r.body == RSS
    assert r.url == srv.url("/new")
    assert r.permanent_redirect == srv.url("/new")


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.7/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/feed.xml",
        "http://[::ffff:127.0.0.2]/feed.xml",
        "http://127.0.0.1.nip.invalid/feed.xml",  # unresolvable: refused as a DNS error, see below
    ],
)
def test_redirect_to_private_address_is_refused(srv, target):
    srv.route("/f", status=302, redirect_to=target)
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    if target.endswith(".invalid/feed.xml"):
        assert (r.status, r.error_kind) == ("error", "dns"), r.error_message
        return
    assert (r.status, r.error_kind) == ("error", "blocked_address"), r.error_message
    assert "SSRF" in r.error_message


def test_every_resolved_address_is_checked(monkeypatch):
    # DNS is the outside world: a name answering one public and one private address is refused.
    import socket

    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", 80)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: answers)
    r = fetch("http://mixed.example/feed", now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "blocked_address")
    assert "10.0.0.5" in r.error_message


def test_loopback_refused_by_default_and_server_never_contacted(srv):
    srv.route("/f", body=RSS)
    r = fetch(srv.url("/f"), now=NOW)  # default limits: no allowed hosts
    assert (r.status, r.error_kind) == ("error", "blocked_address")
    assert "127.0.0.1" in r.error_message and "loopback" in r.error_message
    assert srv.requests == []


def test_redirect_loop_stops(srv):
    srv.route("/a", status=302, redirect_to="/b")
    srv.route("/b", status=302, redirect_to="/a")
    r = fetch(srv.url("/a"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "too_many_redirects")
    assert srv.hits["/a"] + srv.hits["/b"] == LOCAL.max_redirects + 1


@pytest.mark.parametrize(
    "url,kind",
    [
        ("file:///etc/passwd", "bad_scheme"),
        ("ftp://127.0.0.1/feed", "bad_scheme"),
        ("javascript:alert(1)", "bad_scheme"),
        ("http://", "bad_url"),
        ("http://user:pw@127.0.0.1/", "bad_url"),
    ],
)
def test_only_http_and_https(url, kind):
    r = fetch(url, now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", kind)


def test_redirect_to_other_scheme_is_refused(srv):
    srv.route("/f", status=302, redirect_to="file:///etc/passwd")
    r = fetch(srv.url("/f"), now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "bad_scheme")


def test_connection_refused_is_recorded(srv):
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    r = fetch(f"http://127.0.0.1:{port}/f", now=NOW, limits=LOCAL)
    assert (r.status, r.error_kind) == ("error", "connect")
    assert "could not connect" in r.error_message


def test_shared_client_reuses_connections(srv):
    srv.route("/f", body=RSS, etag='"v1"')
    srv.route("/r", status=301, redirect_to="/f")
    with make_client(LOCAL) as client:
        results = [fetch(srv.url("/f"), now=NOW, limits=LOCAL, client=client) for _ in range(2)]
        results += [fetch(srv.url("/f"), now=NOW, limits=LOCAL, client=client, etag='"v1"') for _ in range(2)]
        results.append(fetch(srv.url("/r"), now=NOW, limits=LOCAL, client=client, etag='"v1"'))
    assert [r.status for r in results] == ["ok", "ok", "not_modified", "not_modified", "not_modified"]
    assert srv.connections == 1  # 200s, 304s and a redirect all on one keep-alive connection


@pytest.mark.parametrize(
    "addr,blocked",
    [
        ("10.1.2.3", True),
        ("172.16.0.1", True),
        ("192.168.1.1", True),
        ("127.0.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),  # noqa: S104
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00:ec2::254", True),
        ("::ffff:10.0.0.1", True),
        ("64:ff9b::a00:1", True),  # NAT64 of 10.0.0.1
        ("64:ff9b:1::7f00:1", True),  # local-use NAT64
        ("93.184.216.34", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_address_classification(addr, blocked):
    assert _is_blocked_ip(ipaddress.ip_address(addr)) is blocked


def test_allowed_hosts_lets_listed_address_through():
    assert resolve_checked("127.0.0.1", 80, frozenset({"127.0.0.1"})) == ["127.0.0.1"]


def test_an_allowed_host_with_a_port_opens_that_port_only(srv):
    # Listing one internal feed must not open every port of its host: 127.0.0.1:A redirecting to
    # 127.0.0.1:B (by address, by name or as an integer address) is refused.
    with FeedServer() as other:
        other.route("/f", body=RSS)
        limits = FetchLimits(
            allowed_hosts=frozenset({f"127.0.0.1:{srv.port}"}), read_timeout=2, total_timeout=10
        )
        srv.route("/ok", body=RSS)
        assert fetch(srv.url("/ok"), now=NOW, limits=limits).status == "ok"
        for target in (
            f"http://127.0.0.1:{other.port}/f",
            f"http://localhost:{other.port}/f",
            f"http://2130706433:{other.port}/f",
        ):
            srv.route("/hop", status=302, redirect_to=target)
            r = fetch(srv.url("/hop"), now=NOW, limits=limits)
            assert (r.status, r.error_kind) == ("error", "blocked_address"), (target, r.error_message)
            assert f"port {other.port}" in r.error_message
        assert other.requests == []
