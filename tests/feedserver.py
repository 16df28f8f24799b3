"""A real HTTP server on 127.0.0.1 (port 0) with programmable routes, for feed tests and benches.

    with FeedServer() as srv:
        srv.route("/feed.xml", body=b"<rss ...>", headers={"ETag": '"v1"'}, etag='"v1"')
        url = srv.url("/feed.xml")
        ...
        srv.requests  # list of (path, headers) actually received

A route can answer with a status, headers and body; gzip the body; honour If-None-Match /
If-Modified-Since (answering 304); redirect; stream a body slowly, endlessly, or as a generated
stream of a given size (so a 50 MB body costs no memory here); or stall before answering.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/rss+xml; charset=utf-8"
    gzip: bool = False  # compress `body` and send Content-Encoding: gzip
    raw_gzip: bytes | None = None  # send these bytes as-is with Content-Encoding: gzip (bombs)
    etag: str | None = None  # answer 304 when If-None-Match matches
    last_modified: str | None = None  # answer 304 when If-Modified-Since matches exactly
    redirect_to: str | None = None  # Location for 3xx statuses
    stall: float = 0.0  # seconds to wait before sending headers
    chunk_delay: float = 0.0  # seconds between body chunks
    endless: bool = False  # keep sending chunks of `body` until the client goes away
    generated_size: int = 0  # stream this many filler bytes after `body` (chunked, constant memory)
    handler: object = None  # optional callable(request_handler) -> None, full control


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FeedServer/1.0"

    def setup(self):
        super().setup()
        with self.server.feedserver.lock:
            self.server.feedserver.connections += 1

    def log_message(self, format, *args):  # noqa: A002 - silence the default stderr log
        pass

    def do_GET(self):  # noqa: N802
        srv: FeedServer = self.server.feedserver
        path = self.path
        with srv.lock:
            srv.requests.append((path, dict(self.headers.items())))
            srv.hits[path] = srv.hits.get(path, 0) + 1
            route = srv.routes.get(path) or srv.routes.get(path.split("?", 1)[0])
        if route is None:
            self._send_simple(404, b"not found")
            return
        if route.stall:
            if srv.stop.wait(route.stall):
                return
        if route.handler is not None:
            route.handler(self)
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self._send_simple(304, b"", extra={"ETag": route.etag})
            return
        if route.last_modified and self.headers.get("If-Modified-Since") == route.last_modified:
            self._send_simple(304, b"", extra={"Last-Modified": route.last_modified})
            return
        headers = dict(route.headers)
        if route.etag:
            headers.setdefault("ETag", route.etag)
        if route.last_modified:
            headers.setdefault("Last-Modified", route.last_modified)
        if route.redirect_to:
            headers["Location"] = route.redirect_to
        if route.endless or route.generated_size or route.chunk_delay:
            self._send_streamed(route, headers)
            return
        body = route.body
        if route.raw_gzip is not None:
            body = route.raw_gzip
            headers["Content-Encoding"] = "gzip"
        elif route.gzip:
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        self._send_simple(route.status, body, extra=headers, content_type=route.content_type)

    def _send_simple(self, status, body, extra=None, content_type="text/plain"):
        self.send_response(status)
        if status != 304:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if status != 304 and body:
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

    def _send_streamed(self, route: Route, headers):
        srv: FeedServer = self.server.feedserver
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.close_connection = True

        def chunk(data: bytes) -> bool:
            try:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                return True
            except (BrokenPipeError, ConnectionResetError, OSError):
                return False

        piece = route.body or b"x" * 65536
        if route.body and not chunk(route.body):
            return
        sent = 0
        filler = b"<!-- " + b"x" * 65000 + b" -->\n"
        while route.endless or sent < route.generated_size:
            if route.chunk_delay and srv.stop.wait(route.chunk_delay):
                return
            if srv.stop.is_set():
                return
            data = piece if route.endless else filler[: min(len(filler), route.generated_size - sent)]
            if not chunk(data):
                return
            sent += len(data)
        try:
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            pass


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-body (size caps, timeouts) are expected here


class FeedServer:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []
        self.hits: dict[str, int] = {}
        self.connections = 0  # TCP connections accepted (keep-alive reuse shows here)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.feedserver = self
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FeedServer:
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, **kwargs) -> Route:
        r = Route(**kwargs)
        with self.lock:
            self.routes[path] = r
        return r

    def headers_for(self, path: str) -> list[dict]:
        with self.lock:
            return [h for p, h in self.requests if p == path]
