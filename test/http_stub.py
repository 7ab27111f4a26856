"""A local HTTP server for OpenAI-compatible stub servers in tests: a quiet handler base and a runner.

class Server(StubHandler):
    def do_POST(self) -> None:
        body = self.read_json()
        self.send_text(200, "text/event-stream", "data: [DONE]\n\n")

with local_server(Server) as url:  # http://127.0.0.1:PORT/v1
    ...
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "127.0.0.1"


class StubHandler(BaseHTTPRequestHandler):
    """A request handler that reads JSON bodies, sends whole responses and logs nothing."""

    def read_body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def read_json(self) -> dict:
        return json.loads(self.read_body())

    def send_text(self, status: int, content_type: str, text: str) -> None:
        """One response with a Content-Length; a client that already gave up is ignored."""
        data = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free loopback port in a daemon thread; yields the ``/v1`` base URL."""
    server = ThreadingHTTPServer((HOST, 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
