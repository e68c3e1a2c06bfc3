"""Send realistic, signed card-network events to the webhook, for the demo and for load.

    manage.py simulate_network --rate 5 --duration 60 [--merchant northwind] [--url http://localhost:8000]

Each second brings about `rate` events: card authorisations at the merchant's
stores (mostly on linked cards, some on unknown ones, some online), clearings
that follow them, and the odd refund. Traffic goes only to the URL given.
"""

import json
import random
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from merchants.models import Merchant, Store
from profiles.models import Card, NetworkConnection
from profiles.services import network

MAX_EVENTS = 100_000


class Command(BaseCommand):
    help = "Send signed card-network transaction events to the webhook at a steady rate."

    def add_arguments(self, parser):
        parser.add_argument("--rate", type=float, default=2.0, help="events per second (default 2)")
        parser.add_argument("--duration", type=float, default=30.0, help="seconds to run (default 30)")
        parser.add_argument("--merchant", default="northwind", help="merchant slug (default northwind)")
        parser.add_argument("--url", default=settings.SITE_URL, help=f"server base URL (default {settings.SITE_URL})")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args, **options):
        if options["rate"] <= 0 or options["duration"] <= 0:
            raise CommandError("--rate and --duration must be positive.")
        merchant = Merchant.objects.filter(slug=options["merchant"]).first()
        if merchant is None:
            raise CommandError(f"No merchant {options['merchant']!r}; run `manage.py seed_demo` first.")
        stores = [
            store for store in Store.objects.for_merchant(merchant).filter(is_active=True) if store.network_location_ids
        ]
        if not stores:
            raise CommandError(f"{merchant.name} has no store with a network location id.")
        connection = NetworkConnection.objects.for_merchant(merchant).filter(is_active=True).first()
        if connection is None:
            connection = network.network_connection_create(merchant=merchant, name="Simulated card network")
        tokens = list(
            Card.objects.for_merchant(merchant).filter(status="active").values_list("token", flat=True)[:5000]
        )
        url = f"{options['url'].rstrip('/')}/api/v1/network/{connection.public_id}/events"
        simulator = Simulator(merchant=merchant, stores=stores, tokens=tokens, rng=random.Random(options["seed"]))

        self.stdout.write(f"Sending to {url} for {options['duration']:.0f}s at {options['rate']:g}/s")
        interval = 1.0 / options["rate"]
        deadline = time.monotonic() + options["duration"]
        next_send = time.monotonic()
        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        while time.monotonic() < deadline and sum(outcomes.values()) < MAX_EVENTS:
            payload = simulator.next_event()
            body = json.dumps(payload).encode()
            request = urllib.request.Request(  # noqa: S310 - the URL is the operator's own server
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    network.SIGNATURE_HEADER: network.sign(secret=connection.signing_secret, body=body),
                },
            )
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    outcomes[json.loads(response.read()).get("status", str(response.status))] += 1
            except urllib.error.HTTPError as error:
                outcomes[f"http {error.code}"] += 1
            except urllib.error.URLError as error:
                raise CommandError(f"Cannot reach {url}: {error.reason}") from error
            latencies.append(time.monotonic() - started)
            next_send += interval
            time.sleep(max(0.0, next_send - time.monotonic()))
        latencies.sort()
        p50 = latencies[len(latencies) // 2] * 1000 if latencies else 0
        p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else 0
        self.stdout.write(f"Sent {sum(outcomes.values())} events: {dict(outcomes)}; p50 {p50:.1f} ms, p99 {p99:.1f} ms")


class Simulator:
    """Plausible transaction events: auths, then clearings for most of them, and a few refunds."""

    def __init__(self, *, merchant: Merchant, stores: list[Store], tokens: list[str], rng: random.Random) -> None:
        self.merchant, self.stores, self.tokens, self.rng = merchant, stores, tokens, rng
        self.awaiting_clearing: list[dict] = []
        self.cleared: list[dict] = []

    def next_event(self) -> dict:
        roll = self.rng.random()
        if self.awaiting_clearing and roll < 0.35:
            transaction = self.awaiting_clearing.pop(0)
            self.cleared.append(transaction)
            return self._event("transaction.clearing", transaction)
        if self.cleared and roll > 0.98:
            original = self.cleared.pop(self.rng.randrange(len(self.cleared)))
            refund = {
                **original,
                "id": f"txn_{uuid.uuid4().hex[:16]}",
                "amount": str(-Decimal(original["amount"])),
                "refundTransactionId": original["id"],
            }
            return self._event("transaction.refund", refund)
        transaction = self._new_transaction()
        self.awaiting_clearing.append(transaction)
        return self._event("transaction.auth", transaction)

    def _new_transaction(self) -> dict:
        store = self.rng.choice(self.stores)
        online = self.rng.random() < 0.2
        linked = self.tokens and self.rng.random() < 0.7
        token = self.rng.choice(self.tokens) if linked else f"tok_{uuid.uuid4().hex[:20]}"
        local_now = datetime.now(ZoneInfo(store.timezone)).replace(microsecond=0, tzinfo=None)
        amount = Decimal(self.rng.choice([450, 1295, 2500, 3999, 5990, 8950, 12900])) / 100
        return {
            "id": f"txn_{uuid.uuid4().hex[:16]}",
            "amount": str(amount),
            "currency": self.merchant.currency,
            "datetime": local_now.isoformat(),
            "cardPresent": not online,
            "card": {
                "id": token,
                "firstNumbers": self.rng.choice(["411111", "555555", "378282"]),
                "lastNumbers": f"{self.rng.randrange(10000):04d}",
                "scheme": self.rng.choice(["visa", "mastercard", "amex"]),
            },
            "location": None if online else {"id": store.network_location_ids[0], "timezone": store.timezone},
            "identifiers": {} if online else {"MID": store.network_location_ids[0]},
        }

    def _event(self, kind: str, transaction: dict) -> dict:
        return {"id": f"evt_{uuid.uuid4().hex}", "type": kind, "transaction": transaction}
