"""A bounded HTTP load generator for a server on the loopback interface.

Threads, each with its own http.client connection (kept alive when the server
allows it; gunicorn's sync workers close after each response, so it reconnects),
POST JSON bodies until a deadline or a request cap, whichever comes first.
"""

import http.client
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import percentile

HOST = "127.0.0.1"  # loopback only, by construction
MAX_REQUESTS = 200_000


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0  # connection errors

    @property
    def ok(self) -> int:
        return sum(count for status, count in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        return sum(self.statuses.values()) - self.ok + self.failures

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def add(self, other: "LoadResult") -> None:
        self.seconds += other.seconds
        self.latencies_ms.extend(other.latencies_ms)
        self.statuses.update(other.statuses)
        self.failures += other.failures

    def summary(self, name: str) -> dict[str, Any]:
        return {
            f"{name}_rps": round(self.rps, 1),
            f"{name}_p50_ms": round(percentile(self.latencies_ms, 0.50), 2),
            f"{name}_p99_ms": round(percentile(self.latencies_ms, 0.99), 2),
            f"{name}_requests": self.ok,
            f"{name}_errors": self.errors,
        }


# (rng, request number) -> (body, extra headers)
RequestMaker = Callable[[random.Random, str], tuple[dict[str, Any], dict[str, str]]]


def post_load(
    *,
    port: int,
    path: str,
    make_request: RequestMaker,
    concurrency: int,
    seconds: float,
    label: str,
    max_requests: int = MAX_REQUESTS,
) -> LoadResult:
    """POST for `seconds` from `concurrency` threads; each request body is unique (labelled per call)."""
    deadline_box: list[float] = []
    results = [LoadResult() for _thread in range(concurrency)]
    sent = iter(range(max_requests))
    lock = threading.Lock()
    start = threading.Barrier(concurrency + 1)

    def worker(index: int) -> None:
        rng = random.Random(f"{label}-{index}")
        result = results[index]
        connection = http.client.HTTPConnection(HOST, port, timeout=30)
        start.wait()
        deadline = deadline_box[0]
        while time.monotonic() < deadline:
            with lock:
                number = next(sent, None)
            if number is None:
                break
            body, headers = make_request(rng, f"{label}-{index}-{number}")
            payload = json.dumps(body).encode()
            began = time.perf_counter()
            try:
                connection.request(
                    "POST", path, payload, {"Content-Type": "application/json", "Host": "localhost", **headers}
                )
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                result.failures += 1
                connection.close()
                continue
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            result.statuses[response.status] += 1
            if response.will_close:
                connection.close()
        connection.close()

    threads = [threading.Thread(target=worker, args=(index,), daemon=True) for index in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.monotonic()
    deadline_box.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    total = LoadResult(seconds=time.monotonic() - began)
    for result in results:
        total.latencies_ms.extend(result.latencies_ms)
        total.statuses.update(result.statuses)
        total.failures += result.failures
    return total
