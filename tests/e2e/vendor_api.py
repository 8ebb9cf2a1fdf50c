"""A local vendor API for the fetch-step vendors (SurveyMonkey, Qualtrics, Yelp Fusion): a real
HTTP server on a free port answering GETs with the documented response bodies a test serves.

Routes match on the path alone (the query string is recorded, not matched), so the test does
not depend on how an adapter orders its paging parameters.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from shared.embedded import free_port


@dataclass(frozen=True)
class Request:
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class VendorApi:
    base_url: str
    routes: dict[str, Any] = field(default_factory=dict)
    seen: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def serve(self, path: str, body: Any) -> None:
        with self.lock:
            self.routes[path] = body

    def requests(self, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.seen if r.path == path]

    def answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, Any]:
        parsed = urllib.parse.urlsplit(raw_path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        with self.lock:
            self.seen.append(Request(parsed.path, query, headers))
            if parsed.path not in self.routes:
                return 404, {"error": {"message": "Resource not found"}}
            return 200, self.routes[parsed.path]


@contextmanager
def vendor_api() -> Iterator[VendorApi]:
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), BaseHTTPRequestHandler)
    api = VendorApi(base_url=f"http://127.0.0.1:{server.server_port}")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = api.answer(self.path, {k.lower(): v for k, v in self.headers.items()})
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass  # the test asserts on `seen`; stderr noise helps nobody

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
