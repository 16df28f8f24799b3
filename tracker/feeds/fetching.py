"""Safe HTTP fetching of feeds.

`fetch()` never raises for anything a remote server (or a feed URL typed by a user) can do: every outcome
is a `FetchResult` with a status (ok / not_modified / error), and errors carry a stable `error_kind` and a
message that says what went wrong in words an admin can act on.

Defences, all on by default:
- only http and https;
- SSRF guard: the host of every hop is resolved and *every* address checked; the connection is then made
  to a checked address (so a DNS answer that changes between check and connect cannot slip through).
  Private, loopback, link-local (cloud metadata), multicast, reserved and other non-global addresses are
  refused unless the host or address is listed in `allowed_hosts` (an entry `host:port` allows that port
  only; every hop is re-checked by resolved address and port);
- redirects followed by hand (at most `max_redirects`), each new URL re-checked;
- connect and read timeouts plus a total deadline, so an endless slow body stops;
- a cap on *decoded* bytes: gzip/deflate are decompressed here, incrementally and bounded, so a
  compression bomb stops at the cap like a plain oversized body.
"""

from __future__ import annotations

import email.utils
import ipaddress
import socket
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

USER_AGENT = "Watchpost/0.1 (feed monitor; +https://github.com/watchpost)"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_RETRY_AFTER = timedelta(days=2)


class FetchError(Exception):
    """A fetch failure with a stable kind and a human message."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind
        self.message = message


class BlockedAddressError(FetchError):
    def __init__(self, message: str):
        super().__init__("blocked_address", message)


@dataclass(frozen=True)
class FetchLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allowed_hosts: frozenset[str] = frozenset()
    user_agent: str = USER_AGENT

    @classmethod
    def from_settings(cls) -> FetchLimits:
        """The FEEDS_* settings (defined, with their defaults, in config/settings.py)."""
        from django.conf import settings

        return cls(
            connect_timeout=float(settings.FEEDS_CONNECT_TIMEOUT),
            read_timeout=float(settings.FEEDS_READ_TIMEOUT),
            total_timeout=float(settings.FEEDS_TOTAL_TIMEOUT),
            max_bytes=int(settings.FEEDS_MAX_BYTES),
            max_redirects=int(settings.FEEDS_MAX_REDIRECTS),
            allowed_hosts=frozenset(
                h.strip().lower() for h in settings.FEEDS_SSRF_ALLOWED_HOSTS if h.strip()
            ),
            user_agent=str(settings.FEEDS_USER_AGENT),
        )


@dataclass
class FetchResult:
    status: str  # "ok" | "not_modified" | "error"
    url: str  # the URL finally fetched (after redirects)
    http_status: int | None = None
    body: bytes = b""
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    retry_after: datetime | None = None  # absolute time before which we should not ask again
    error_kind: str = ""
    error_message: str = ""
    elapsed: float = 0.0
    redirects: list[str] = field(default_factory=list)
    permanent_redirect: str | None = None  # where the feed now lives, when every hop was permanent

    @property
    def ok(self) -> bool:
        return self.status == "ok"


# --------------------------------------------------------------------------- address checks


# Special-purpose IPv6 ranges that embed or translate to IPv4 addresses (NAT64 well-known and local-use
# prefixes, RFC 6052 and 8215): a private IPv4 address can hide behind them, so they are refused outright.
_EMBEDDING_V4 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def _is_blocked_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return _is_blocked_ip(ip.ipv4_mapped)
        if ip.sixtofour is not None or ip.teredo is not None:
            return True
        if any(ip in network for network in _EMBEDDING_V4):
            return True
    # `is_global` is False for private, loopback, link-local (169.254.169.254 metadata), shared
    # address space (100.64/10), reserved, unspecified and documentation ranges.
    return not ip.is_global or ip.is_multicast


def _describe(ip) -> str:
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (cloud metadata endpoints live there)"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast:
        return "a multicast address"
    return "a non-public address"


def resolve_checked(host: str, port: int, allowed_hosts: frozenset[str]) -> list[str]:
    """Resolve `host` and return its addresses, raising BlockedAddressError if any is non-public.

    Every address is checked, not just the first: a name that resolves to one public and one private
    address is refused, since the connection could go to either.
    """
    host = host.strip("[]").lower()
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError("dns", f"could not resolve host '{host}': {exc}") from exc
    addresses: list[str] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        addr = sockaddr[0].split("%", 1)[0]
        if addr not in addresses:
            addresses.append(addr)
    if not addresses:
        raise FetchError("dns", f"host '{host}' has no address")
    for addr in addresses:
        ip = ipaddress.ip_address(addr)
        if _is_blocked_ip(ip) and not _listed(host, addr, port, allowed_hosts):
            raise BlockedAddressError(
                f"refused: host '{host}' port {port} resolves to {addr}, {_describe(ip)} (SSRF guard). "
                "If this feed is really meant to be fetched, list it in FEEDS_SSRF_ALLOWED_HOSTS "
                f"(as {host}:{port} to allow that port only)."
            )
    return addresses


def _listed(host: str, addr: str, port: int, allowed_hosts: frozenset[str]) -> bool:
    """Is this connection allowed by FEEDS_SSRF_ALLOWED_HOSTS? An entry names a host or an address,
    optionally with a port (`host:port`, `[v6]:port`); an entry with a port allows that port only."""
    for name in (host, addr):
        bracketed = f"[{name}]" if ":" in name else name
        if name in allowed_hosts or f"{bracketed}:{port}" in allowed_hosts:
            return True
    return False


class _GuardedBackend(httpcore.SyncBackend):
    """Network backend that resolves, checks and then connects to a checked address."""

    def __init__(self, allowed_hosts: frozenset[str]):
        self.allowed_hosts = allowed_hosts

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        addresses = resolve_checked(host, port, self.allowed_hosts)
        last_exc: Exception | None = None
        for addr in addresses:
            try:
                return super().connect_tcp(addr, port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_exc = exc
        assert last_exc is not None
        raise last_exc


class GuardedTransport(httpx.HTTPTransport):
    def __init__(self, allowed_hosts: frozenset[str] = frozenset(), max_connections: int = 100):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            network_backend=_GuardedBackend(allowed_hosts),
        )


def make_client(limits: FetchLimits, max_connections: int = 100) -> httpx.Client:
    """An httpx client whose every connection goes through the SSRF guard. Reusable across fetches."""
    return httpx.Client(
        transport=GuardedTransport(limits.allowed_hosts, max_connections=max_connections),
        timeout=httpx.Timeout(
            connect=limits.connect_timeout,
            read=limits.read_timeout,
            write=limits.read_timeout,
            pool=limits.connect_timeout,
        ),
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": limits.user_agent},
    )


# --------------------------------------------------------------------------- helpers


def check_url(url: str) -> httpx.URL:
    """Parse and vet a feed URL: http(s) only, a host, no credentials. Raises FetchError."""
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:
        raise FetchError("bad_url", f"not a valid URL: {url!r} ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise FetchError(
            "bad_scheme",
            f"only http and https feed URLs are allowed, not '{parts.scheme or 'no scheme'}': {url!r}",
        )
    if not parts.hostname:
        raise FetchError("bad_url", f"URL has no host: {url!r}")
    if parts.username or parts.password:
        raise FetchError("bad_url", "URLs with embedded credentials are not allowed")
    try:
        return httpx.URL(url.strip())
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError("bad_url", f"not a valid URL: {url!r} ({exc})") from exc


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """Retry-After as seconds or an HTTP date -> absolute aware datetime, capped at MAX_RETRY_AFTER."""
    if not value:
        return None
    value = value.strip()
    when: datetime | None = None
    if value.isdigit():
        when = now + timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
    if when <= now:
        return None
    return min(when, now + MAX_RETRY_AFTER)


class _Decoder:
    """Incremental, bounded gzip/deflate decoding: never yields more than `budget` bytes in total."""

    def __init__(self, encoding: str, max_bytes: int):
        self.max_bytes = max_bytes
        self.total = 0
        encoding = (encoding or "identity").strip().lower()
        codings = [c.strip() for c in encoding.split(",") if c.strip() and c.strip() != "identity"]
        if len(codings) > 1:
            raise FetchError("decode", f"unsupported stacked Content-Encoding '{encoding}'")
        self.coding = codings[0] if codings else "identity"
        if self.coding in ("gzip", "x-gzip"):
            self.obj = zlib.decompressobj(zlib.MAX_WBITS | 32)
        elif self.coding == "deflate":
            self.obj = zlib.decompressobj()
            self._deflate_probe = True
        elif self.coding == "identity":
            self.obj = None
        else:
            raise FetchError(
                "decode", f"unsupported Content-Encoding '{encoding}' (we ask for gzip or deflate)"
            )
        self.pending = b""

    def _account(self, n: int) -> None:
        self.total += n
        if self.total > self.max_bytes:
            raise FetchError(
                "too_large",
                f"feed body is larger than the limit of {self.max_bytes:,} bytes (after decompression); "
                "stopped reading",
            )

    def feed(self, chunk: bytes) -> bytes:
        if self.obj is None:
            self._account(len(chunk))
            return chunk
        out = []
        data = chunk
        try:
            while data or self.obj.unconsumed_tail:
                data = data or self.obj.unconsumed_tail
                room = self.max_bytes - self.total + 1
                piece = self.obj.decompress(data, room)
                self._account(len(piece))
                out.append(piece)
                data = b""
                if not self.obj.unconsumed_tail:
                    break
        except zlib.error as exc:
            if self.coding == "deflate" and self.total == 0 and getattr(self, "_deflate_probe", False):
                # Some servers send raw deflate without the zlib header.
                self._deflate_probe = False
                self.obj = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(chunk)
            raise FetchError("decode", f"the {self.coding}-compressed body is corrupt: {exc}") from exc
        self._deflate_probe = False
        return b"".join(out)

    def flush(self) -> bytes:
        if self.obj is None:
            return b""
        try:
            piece = self.obj.flush()
        except zlib.error as exc:
            raise FetchError("decode", f"the {self.coding}-compressed body is corrupt: {exc}") from exc
        self._account(len(piece))
        if not self.obj.eof:
            raise FetchError("decode", f"the {self.coding}-compressed body is truncated or corrupt")
        return piece


def _http_error_message(status: int, url: str) -> str:
    try:
        phrase = httpx.codes.get_reason_phrase(status)
    except ValueError:
        phrase = ""
    hint = {
        401: "the feed needs a login",
        403: "the server refuses us",
        404: "check the feed URL; it may have moved",
        410: "the feed was removed; deactivate it",
        429: "the server says we poll too often",
        503: "the server is unavailable or rate-limiting",
    }.get(status, "server error" if status >= 500 else "")
    text = f"HTTP {status} {phrase}".strip()
    return f"{text} from {url}" + (f" ({hint})" if hint else "")


# --------------------------------------------------------------------------- fetch


def fetch(
    url: str,
    *,
    now: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: FetchLimits | None = None,
    client: httpx.Client | None = None,
) -> FetchResult:
    """Fetch `url` once, safely. Never raises for network or server behaviour."""
    limits = limits or FetchLimits()
    started = time.monotonic()
    deadline = started + limits.total_timeout
    own_client = client is None
    if own_client:
        client = make_client(limits, max_connections=4)
    result = FetchResult(status="error", url=url)
    try:
        _fetch_into(result, url, now, etag, last_modified, limits, client, deadline)
    except FetchError as exc:
        result.status = "error"
        result.error_kind = exc.kind
        result.error_message = exc.message
        result.body = b""
    finally:
        if own_client:
            client.close()
        result.elapsed = time.monotonic() - started
    return result


def _fetch_into(result, url, now, etag, last_modified, limits, client, deadline) -> None:
    headers = {
        "Accept": "application/rss+xml, application/atom+xml, application/xml, text/xml;q=0.9, */*;q=0.5"
    }
    headers["Accept-Encoding"] = "gzip, deflate"
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    current = url
    all_permanent = True
    for hop in range(limits.max_redirects + 1):
        target = check_url(current)
        result.url = str(target)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("timeout", f"gave up after the total time limit of {limits.total_timeout:g}s")
        try:
            with client.stream("GET", target, headers=headers) as resp:
                result.http_status = resp.status_code
                if resp.status_code in REDIRECT_STATUSES:
                    location = resp.headers.get("location")
                    if not location:
                        raise FetchError(
                            "http_status", f"HTTP {resp.status_code} redirect without a Location header"
                        )
                    if resp.status_code not in (301, 308):
                        all_permanent = False
                    _drain(resp)
                    current = urljoin(str(target), location.strip())
                    result.redirects.append(current)
                    if hop == limits.max_redirects:
                        break
                    continue
                _read_response(result, resp, now, limits, deadline)
                if result.redirects and all_permanent:
                    result.permanent_redirect = result.url
                return
        except FetchError:
            raise
        except httpx.ConnectTimeout as exc:
            raise FetchError(
                "timeout", f"could not connect to {target.host} within {limits.connect_timeout:g}s"
            ) from exc
        except httpx.ReadTimeout as exc:
            raise FetchError(
                "timeout", f"{target.host} stopped sending data for more than {limits.read_timeout:g}s"
            ) from exc
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", f"timed out talking to {target.host}: {exc}") from exc
        except httpx.ConnectError as exc:
            raise FetchError(
                "connect", f"could not connect to {target.host}: {exc or 'connection refused'}"
            ) from exc
        except httpx.RemoteProtocolError as exc:
            raise FetchError("protocol", f"{target.host} sent a broken HTTP response: {exc}") from exc
        except httpx.TransportError as exc:
            raise FetchError("network", f"network error talking to {target.host}: {exc}") from exc
        except httpx.InvalidURL as exc:
            raise FetchError("bad_url", f"not a valid URL: {current!r} ({exc})") from exc
    raise FetchError("too_many_redirects", f"more than {limits.max_redirects} redirects starting from {url}")


def _drain(resp: httpx.Response, limit: int = 64 * 1024) -> None:
    """Read a small unwanted body (304, redirect, error page) so the connection can be reused; a larger
    one is left unread and the connection is simply closed."""
    declared = resp.headers.get("content-length", "")
    if resp.status_code != 304 and declared != "0":
        if "transfer-encoding" in resp.headers or not declared.isdigit() or int(declared) > limit:
            return
    try:
        for _ in resp.iter_raw():
            pass
    except httpx.HTTPError:
        pass  # the connection is discarded; nothing to report for a body we did not want


def _read_response(result: FetchResult, resp: httpx.Response, now, limits: FetchLimits, deadline) -> None:
    status = resp.status_code
    result.etag = resp.headers.get("etag") or None
    result.last_modified = resp.headers.get("last-modified") or None
    result.content_type = resp.headers.get("content-type", "")
    if status == 304:
        result.status = "not_modified"
        _drain(resp)
        return
    if status >= 400 or status < 200:
        _drain(resp)
    if status in (429, 503):
        result.retry_after = parse_retry_after(resp.headers.get("retry-after"), now)
        kind = "rate_limited" if status == 429 else "unavailable"
        raise FetchError(kind, _http_error_message(status, result.url))
    if status >= 400 or status < 200:
        result.retry_after = parse_retry_after(resp.headers.get("retry-after"), now)
        raise FetchError("http_status", _http_error_message(status, result.url))
    declared = resp.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes and "content-encoding" not in resp.headers:
        raise FetchError(
            "too_large",
            f"feed body is {int(declared):,} bytes, larger than the limit of {limits.max_bytes:,} bytes; "
            "not read",
        )
    decoder = _Decoder(resp.headers.get("content-encoding", ""), limits.max_bytes)
    parts: list[bytes] = []
    for raw in resp.iter_raw():
        parts.append(decoder.feed(raw))
        if time.monotonic() > deadline:
            raise FetchError(
                "timeout",
                f"the body was still arriving after the total time limit of {limits.total_timeout:g}s; "
                "stopped",
            )
    parts.append(decoder.flush())
    result.body = b"".join(parts)
    result.status = "ok"
