"""Send realistic payments to the webhook, in any provider's own format, signed its way; for the demo and load.

    manage.py simulate_network [--provider stripe|square|fidel|adyen|shopify|generic] --rate 5 --duration 60
                               [--merchant northwind] [--url http://localhost:8000]

Each second brings about `rate` webhook requests: authorisations at the merchant's stores (mostly
on linked cards, some on unknown ones, some online), captures that follow them (a few for another
amount), and the odd partial refund. The merchant's payment source for that provider is used, or
added (its secret generated, its locations mapped to the stores); linked cards are given the
provider's name for them, as a checkout enrolment would. Traffic goes only to the URL given.
"""

import random
import secrets
import time
import urllib.error
import urllib.request
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.providers import PaymentProvider
from demo.provider_feeds import FORMATS, IDENTITY_KINDS, PaymentSimulator, SimulatedCard, card_value, signed
from merchants.models import Merchant, Store
from payments.api import webhook_url
from payments.models import PaymentSource
from payments.services import sources
from profiles.models import Card, CardIdentityVia, ContactPoint
from profiles.services import cards as card_identities

MAX_EVENTS = 100_000
ACCOUNTS = {
    PaymentProvider.STRIPE: "acct_simulated",
    PaymentProvider.SQUARE: "SIMULATEDSQ01",
    PaymentProvider.FIDEL: "6f0f8f0e-0000-4000-8000-00000000f1de",
    PaymentProvider.ADYEN: "SimulatedPOS",
    PaymentProvider.SHOPIFY: "simulated.myshopify.com",
    PaymentProvider.GENERIC: "",
}


def store_location_id(store: Store) -> str:
    return store.network_location_ids[0] if store.network_location_ids else f"SIM-{store.pk}"


@transaction.atomic
def simulated_source(merchant: Merchant, provider: str, stores: list[Store]) -> PaymentSource:
    """The merchant's source for `provider`, added if it has none, its stores' locations mapped."""
    source = PaymentSource.objects.for_merchant(merchant).filter(provider=provider).order_by("pk").first()
    if source is None:
        source = sources.source_create(
            merchant=merchant,
            data=sources.SourceInput(
                provider=provider,
                name=f"Simulated {PaymentProvider(provider).label}",
                secret=secrets.token_hex(32),  # hex: Adyen's HMAC keys are
                account=ACCOUNTS[provider],
                default_store=stores[0],
            ),
        )
    for store in stores:
        sources.location_map(source=source, location_id=store_location_id(store), store=store)
    return source


def simulated_cards(merchant: Merchant, provider: str, account: str, limit: int = 2000) -> list[SimulatedCard]:
    """Linked cards as the provider names them; each given that identity, as a checkout enrolment would."""
    linked = list(Card.objects.for_merchant(merchant).filter(status="active").select_related("shopper")[:limit])
    kind = IDENTITY_KINDS.get(provider)
    emails = dict(
        ContactPoint.objects.for_merchant(merchant)
        .filter(kind="email", is_verified=True, shopper__in=[card.shopper_id for card in linked])
        .values_list("shopper_id", "value")
    )
    simulated = []
    for card in linked:
        value = card_value(provider, card.token)
        if kind is not None:
            identity = card_identities.ProviderCardId(provider, account, kind, value)
            with transaction.atomic():
                card_identities.identities_attach(card=card, identities=[identity], via=CardIdentityVia.ENROLMENT)
        simulated.append(SimulatedCard(token=card.token, value=value, email=emails.get(card.shopper_id, "")))
    if provider == PaymentProvider.SHOPIFY:
        simulated = [card for card in simulated if card.email]  # Shopify names customers, by email
    return simulated


class Command(BaseCommand):
    help = "Send signed payment webhooks, in a provider's own format, to the webhook at a steady rate."

    def add_arguments(self, parser):
        parser.add_argument("--provider", default="generic", choices=[p.value for p in PaymentProvider])
        parser.add_argument("--rate", type=float, default=2.0, help="requests per second (default 2)")
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
        stores = list(Store.objects.for_merchant(merchant).filter(is_active=True).order_by("pk"))
        if not stores:
            raise CommandError(f"{merchant.name} has no active store.")
        provider = options["provider"]
        source = simulated_source(merchant, provider, stores)
        secret = sources.secrets_valid(source=source)[0]
        rng = random.Random(options["seed"])
        simulator = PaymentSimulator(
            currency=merchant.currency,
            locations=[(store_location_id(store), store.timezone) for store in stores],
            cards=simulated_cards(merchant, provider, source.account),
            rng=rng,
        )
        signed_url = webhook_url(source)  # what the provider signs, where the signature covers the URL
        path = signed_url.removeprefix(settings.SITE_URL.rstrip("/"))
        url = f"{options['url'].rstrip('/')}{path}"

        self.stdout.write(
            f"Sending {provider} webhooks to {url} for {options['duration']:.0f}s at {options['rate']:g}/s"
        )
        interval = 1.0 / options["rate"]
        deadline = time.monotonic() + options["duration"]
        next_send = time.monotonic()
        outcomes: Counter[str] = Counter()
        latencies: list[float] = []
        while time.monotonic() < deadline and sum(outcomes.values()) < MAX_EVENTS:
            step, payment = simulator.next_step()
            message = FORMATS[provider](step, payment, source.account, rng)
            body, headers = signed(provider, message, url=signed_url, secret=secret, account=source.account)
            request = urllib.request.Request(url, data=body, method="POST", headers=headers)  # noqa: S310 - the operator's own server
            started = time.monotonic()
            try:
                with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                    outcomes[f"{step} accepted" if response.status == 200 else f"http {response.status}"] += 1
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
        self.stdout.write(
            f"Sent {sum(outcomes.values())} requests: {dict(outcomes)}; p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
