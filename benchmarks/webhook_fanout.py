"""webhook_fanout: outbound webhook deliveries per second to a local receiver, through the real delivery path.

    python -m benchmarks.webhook_fanout [--shoppers 1500] [--events-per-shopper 4] [--endpoints 2]

The scratch database gets a merchant with `--endpoints` endpoints on one local HTTP receiver (a threaded
HTTP/1.1 server with keep-alive, in a process of its own). While the endpoints are paused, shoppers × events
changes are written to the outbox (outbound.services.outbox.event_record, as the domain receivers write them).
Resuming each endpoint queues its drain after commit, which runs in this process (Celery eager): the due
deliveries are read, signed, POSTed side by side (one chain per shopper, in order), and every attempt and
delivery row is written. Measured: from the first resume to the last delivery recorded, deliveries per second.

The baseline, in the same run against the same receiver: the same bodies POSTed with the same HTTP pool and
thread count, with no database, no signing and no ordering: the ceiling of this machine and receiver.

Prints one JSON line: ours_deliveries_per_s, baseline_deliveries_per_s, ratio, deliveries.
"""

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from benchmarks import common
from benchmarks.common import django_setup, emit, note

NAME = "webhook_fanout"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a load balancer

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Handler).serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shoppers", type=int, default=1500)
    parser.add_argument("--events-per-shopper", type=int, default=4)
    parser.add_argument("--endpoints", type=int, default=2)
    args = parser.parse_args()

    port = common.free_port()
    receiver = multiprocessing.Process(target=_serve, args=(port,), daemon=True)
    receiver.start()
    os.environ.update({"CELERY_TASK_ALWAYS_EAGER": "1", "OUTBOUND_WEBHOOKS_ALLOW_PRIVATE": "1", "LOG_LEVEL": "WARNING"})
    try:
        django_setup(common.scratch_database_url())
        run(port, args.shoppers, args.events_per_shopper, args.endpoints)
    finally:
        receiver.terminate()


def run(port: int, shoppers: int, per_shopper: int, endpoint_count: int) -> None:
    import uuid

    from django.conf import settings
    from django.db import transaction

    from merchants import services as merchant_services
    from merchants.models import User
    from outbound.models import Delivery, DeliveryStatus, EventType
    from outbound.services import delivery, endpoints, outbox

    owner = User.objects.create_user(email="owner@bench.test", password=None)
    merchant = merchant_services.merchant_create(name="Bench", slug="bench", owner=owner)
    url = f"http://127.0.0.1:{port}/hooks"
    made = [
        endpoints.endpoint_create(merchant=merchant, actor=None, url=f"{url}/{n}", events=EventType.values).endpoint
        for n in range(endpoint_count)
    ]
    for endpoint in made:
        endpoints.endpoint_pause(endpoint=endpoint, actor=None)

    note(f"{NAME}: writing {shoppers * per_shopper} changes to the outbox for {endpoint_count} endpoints")
    keys = [str(uuid.uuid4()) for _ in range(shoppers)]
    with transaction.atomic():
        for round_ in range(per_shopper):
            for key in keys:
                data = {"shopper_id": key, "channel": "email", "purpose": "marketing", "granted": round_ % 2 == 0}
                outbox.event_record(
                    merchant=merchant,
                    event_type=EventType.CONSENT_CHANGED,
                    build=lambda key=key, data=data: (key, data),
                )
    expected = shoppers * per_shopper * endpoint_count

    note(f"{NAME}: delivering {expected}")
    started = time.perf_counter()
    for endpoint in made:
        endpoints.endpoint_resume(endpoint=endpoint, actor=None)  # drains on commit, in this process
    ours_s = time.perf_counter() - started
    delivered = Delivery.objects.filter(merchant=merchant, status=DeliveryStatus.SUCCEEDED).count()
    if delivered != expected:
        raise SystemExit(f"{NAME}: {delivered} of {expected} delivered")

    bodies = [delivery.event_body(d.event) for d in Delivery.objects.filter(merchant=merchant).select_related("event")]
    pool = delivery.http_pool()
    headers = {"content-type": "application/json"}

    def post(body: bytes) -> int:
        return pool.request("POST", f"{url}/baseline", body=body, headers=headers, retries=False).status

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.OUTBOUND_WEBHOOK_CONCURRENCY) as threads:
        statuses = list(threads.map(post, bodies))
    baseline_s = time.perf_counter() - started
    if any(status != 204 for status in statuses):
        raise SystemExit(f"{NAME}: the baseline's receiver refused some requests")

    ours, baseline = expected / ours_s, len(bodies) / baseline_s
    emit(
        bench=NAME,
        ours_deliveries_per_s=round(ours),
        baseline_deliveries_per_s=round(baseline),
        ratio=round(ours / baseline, 2),
        deliveries=expected,
    )


if __name__ == "__main__":
    main()
