"""A real HTTP receiver on this machine, and an endpoint of the merchant's pointing at it."""

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from outbound.models import EventType
from outbound.services import endpoints


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Decides the status of each request from its parsed body; 200 unless a test says otherwise.
    answer: Callable[[dict], int] = lambda payload: 200

    def payloads(self, status: int | None = None) -> list[dict]:
        return [r.payload for r in self.requests if status is None or r.status == status]


@pytest.fixture
def receiver():
    lock = threading.Lock()
    state: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with lock:
                status = state["receiver"].answer(json.loads(body))
                state["receiver"].requests.append(
                    Received(headers={k.lower(): v for k, v in self.headers.items()}, body=body, status=status)
                )
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state["receiver"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hooks")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["receiver"]
    server.shutdown()
    server.server_close()


@pytest.fixture
def endpoint_with_secret(merchant, receiver):
    return endpoints.endpoint_create(merchant=merchant, actor=None, url=receiver.url, events=EventType.values)
