"""A round-robin front for several `qunke serve` processes behind one callback URL, as a load balancer would be.

A backend that refuses the connection (dead) is skipped for that request; anything else it answers, even an error,
is passed back to the caller unchanged (WeCom retries on its own, so the front never retries a request it sent).
"""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.support.postgres import free_port


class RoundRobinFront:
    def __init__(self, backend_ports: list[int]) -> None:
        self.backends = list(backend_ports)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._turn = itertools.count()
        self._lock = threading.Lock()
        self.served: dict[int, int] = {}
        front = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                front.forward(self, "GET")

            def do_POST(self) -> None:
                front.forward(self, "POST")

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="rr-front", daemon=True)

    def start(self) -> RoundRobinFront:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def replace(self, old_port: int, new_port: int) -> None:
        with self._lock:
            self.backends = [new_port if port == old_port else port for port in self.backends]

    def forward(self, request: BaseHTTPRequestHandler, method: str) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else None
        with self._lock:
            backends = list(self.backends)
            first = next(self._turn)
        for step in range(len(backends)):
            port = backends[(first + step) % len(backends)]
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request(method, request.path, body=body, headers={"Content-Type": "text/xml"})
            except ConnectionRefusedError:
                connection.close()
                continue
            try:
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                request.send_error(502)
                return
            connection.close()
            with self._lock:
                self.served[port] = self.served.get(port, 0) + 1
            request.send_response(response.status)
            request.send_header("Content-Type", response.getheader("Content-Type") or "text/plain")
            request.send_header("Content-Length", str(len(payload)))
            request.end_headers()
            request.wfile.write(payload)
            return
        request.send_error(502)
