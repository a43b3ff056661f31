"""The plumbing of the local fake servers: a threaded HTTP server on 127.0.0.1 (`LocalServer`,
for fakes with their own request handler) and `FakeServer`, which hands each request to its
subclass and sends back the `Scripted` answer it returns."""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlparse


@dataclass
class Scripted:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class LocalServer:
    """Serves `handler` on a free port of 127.0.0.1 in a background thread."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeServer(LocalServer):
    """Subclasses answer GETs (`get`) and POSTs (`post`); `start` serves in a thread."""

    def __init__(self) -> None:
        super().__init__(self._handler())

    def get(self, path: str, params: dict[str, str]) -> Scripted:
        return Scripted(405)

    def post(self, path: str, headers: dict[str, str], body: bytes) -> Scripted:
        return Scripted(405)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlparse(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                self._send(fake.get(url.path, params))

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                self._send(fake.post(urlparse(self.path).path, headers, body))

            def _send(self, answer: Scripted) -> None:
                if answer.delay:
                    time.sleep(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(answer.body)

            def log_message(self, format: str, *args: object) -> None:
                return

        return Handler
