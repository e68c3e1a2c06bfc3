"""Demo data: a mall with two merchants, their stores, staff for every role and an API key,
and a year of shoppers and purchases for each merchant (demo.history).

    manage.py seed_demo                      the demo (a few seconds)
    manage.py seed_demo --scale              also "megastore": 1,000,000 shoppers, 10,000,000 purchases
    manage.py seed_demo --shoppers N --purchases M     megastore at another size

Running it again changes nothing that exists; it only fills what is missing. A
merchant that already has shoppers or purchases gets no generated history.
"""

import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from demo.campaigns import demo_campaigns_seed
from demo.history import HistorySpec, demo_history_load, demo_tables_analyze
from demo.loyalty import demo_programs_seed
from demo.segments import demo_segments_seed
from demo.showcase import demo_insights_refresh, demo_showcase_seed
from merchants import services
from merchants.models import Merchant, MerchantAPIKey, Network, StaffMembership, Store, User
from merchants.permissions import ALL_API_SCOPES, Role

DEMO_PASSWORD = "storeloop-demo"  # noqa: S105 - demo accounts only, printed on purpose
DEMO_KEY_NAME = "Demo checkout plugin"
DEMO_KEY_FILE = Path(settings.BASE_DIR) / ".devdata" / "demo-api-key.txt"


@dataclass(frozen=True)
class DemoStore:
    name: str
    region: str
    address: str
    latitude: str
    longitude: str
    location_id: str
    timezone: str = ""  # the merchant's unless given


@dataclass(frozen=True)
class DemoHistory:
    """What demo.history generates for a merchant: its kind of trade and how much."""

    catalogue: str
    shoppers: int
    purchases: int
    anonymous_share: float = 0.12
    visit_share: float = 0.25


@dataclass(frozen=True)
class DemoMerchant:
    slug: str
    name: str
    currency: str
    timezone: str
    email_domain: str
    stores: tuple[DemoStore, ...]
    history: DemoHistory


NETWORK = ("riverside-mall", "Riverside Mall")
MERCHANTS = (
    DemoMerchant(
        slug="northwind",
        name="Northwind Outfitters",
        currency="EUR",
        timezone="Europe/Amsterdam",
        email_domain="northwind.demo",
        stores=(
            DemoStore(
                "Riverside Mall", "North", "Riverside Mall, unit 12, Amsterdam", "52.3731", "4.8922", "NW-RIV-01"
            ),
            DemoStore("Central Station", "Centre", "Stationsplein 7, Amsterdam", "52.3791", "4.9003", "NW-CEN-02"),
            DemoStore("Harbour Outlet", "West", "Havenstraat 40, Amsterdam", "52.3890", "4.8720", "NW-HAR-03"),
        ),
        history=DemoHistory(
            catalogue="fashion", shoppers=2500, purchases=12_000, anonymous_share=0.15, visit_share=0.3
        ),
    ),
    DemoMerchant(
        slug="blue-bean",
        name="Blue Bean Coffee",
        currency="EUR",
        timezone="Europe/Amsterdam",
        email_domain="bluebean.demo",
        stores=(
            DemoStore("Riverside Mall kiosk", "North", "Riverside Mall, food court", "52.3733", "4.8925", "BB-RIV-01"),
            DemoStore("Museum Square", "South", "Museumplein 3, Amsterdam", "52.3579", "4.8813", "BB-MUS-02"),
        ),
        history=DemoHistory(
            catalogue="coffee", shoppers=2000, purchases=30_000, anonymous_share=0.35, visit_share=0.15
        ),
    ),
)
# Benchmark scale, kept apart from the mall so the demo merchants stay small.
SCALE_SHOPPERS = 1_000_000
SCALE_PURCHASES = 10_000_000
_MEGASTORE_CITIES = (
    ("Amsterdam", "Kalverstraat 1, Amsterdam", "52.3702", "4.8952", "Europe/Amsterdam"),
    ("Rotterdam", "Lijnbaan 10, Rotterdam", "51.9203", "4.4768", "Europe/Amsterdam"),
    ("Utrecht", "Oudegracht 100, Utrecht", "52.0907", "5.1214", "Europe/Amsterdam"),
    ("Antwerp", "Meir 50, Antwerp", "51.2182", "4.4090", "Europe/Brussels"),
    ("Brussels", "Rue Neuve 20, Brussels", "50.8530", "4.3551", "Europe/Brussels"),
    ("Cologne", "Schildergasse 30, Cologne", "50.9366", "6.9511", "Europe/Berlin"),
    ("Berlin", "Tauentzienstrasse 21, Berlin", "52.5015", "13.3404", "Europe/Berlin"),
    ("Paris", "Boulevard Haussmann 40, Paris", "48.8738", "2.3320", "Europe/Paris"),
    ("London", "Oxford Street 300, London", "51.5152", "-0.1418", "Europe/London"),
    ("Lisbon", "Rua Augusta 100, Lisbon", "38.7107", "-9.1366", "Europe/Lisbon"),
)
MEGASTORE = DemoMerchant(
    slug="megastore",
    name="Megastore",
    currency="EUR",
    timezone="Europe/Amsterdam",
    email_domain="megastore.demo",
    stores=tuple(
        DemoStore(city, "Benelux" if index < 5 else "Europe", address, lat, lon, f"MS-{index + 1:03d}", zone)
        for index, (city, address, lat, lon, zone) in enumerate(_MEGASTORE_CITIES)
    ),
    history=DemoHistory(catalogue="department", shoppers=SCALE_SHOPPERS, purchases=SCALE_PURCHASES, visit_share=0.1),
)
ROLE_LOCAL_PARTS = {
    Role.OWNER: "owner",
    Role.MANAGER: "manager",
    Role.ANALYST: "analyst",
    Role.STORE_STAFF: "staff",
}
MALL_OPERATOR_EMAIL = "operator@riverside.demo"


def _user(email: str) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD)
    return user


class Command(BaseCommand):
    help = "Create demo merchants, stores, staff, an API key and a year of shoppers and purchases. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale",
            action="store_true",
            help=f"also load merchant {MEGASTORE.slug!r} with {SCALE_SHOPPERS:,} shoppers and "
            f"{SCALE_PURCHASES:,} purchases (benchmarks; several minutes)",
        )
        parser.add_argument("--shoppers", type=int, help=f"{MEGASTORE.slug}'s shoppers (implies --scale)")
        parser.add_argument("--purchases", type=int, help=f"{MEGASTORE.slug}'s purchases (implies --scale)")
        parser.add_argument("--demo-shoppers", type=int, help="shoppers of each demo merchant (default: its own)")
        parser.add_argument("--demo-purchases", type=int, help="purchases of each demo merchant (default: its own)")
        parser.add_argument("--seed", type=int, default=HistorySpec.seed, help="random seed of the generated history")

    def handle(self, *args, **options):
        started = time.monotonic()
        # -v 0 (make demo): only what a newcomer needs at the end, the sign-in and the API key.
        self.progress_out = self.stdout if options["verbosity"] >= 1 else None
        for name in ("shoppers", "purchases", "demo_shoppers", "demo_purchases"):
            if options[name] is not None and options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} cannot be negative.")
        secret, northwind = self._accounts()
        for demo in MERCHANTS:
            self._history(
                demo, shoppers=options["demo_shoppers"], purchases=options["demo_purchases"], seed=options["seed"]
            )
        # Then each app above profiles, in the order they build on each other.
        demo_programs_seed(stdout=self.progress_out)
        demo_segments_seed(stdout=self.progress_out)
        demo_campaigns_seed(stdout=self.progress_out)
        demo_showcase_seed(stdout=self.progress_out)
        # Fresh statistics for what the apps just bulk-loaded (ANALYZE samples, so big tables stay quick):
        # without them the planner takes a new table for empty and picks nested loops.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        # Computed now, not by the worker's first round: no insight page of a fresh demo is empty.
        demo_insights_refresh(stdout=self.progress_out)
        if options["scale"] or options["shoppers"] is not None or options["purchases"] is not None:
            with transaction.atomic():
                self._merchant(MEGASTORE, network=None)
            self._history(MEGASTORE, shoppers=options["shoppers"], purchases=options["purchases"], seed=options["seed"])
        self.stdout.write(self.style.SUCCESS(f"Demo data ready in {time.monotonic() - started:.1f}s."))
        self.stdout.write(f"  Sign in as owner@{MERCHANTS[0].email_domain} / {DEMO_PASSWORD}")
        self.stdout.write(f"  (also manager@, analyst@, staff@ of each merchant, and {MALL_OPERATOR_EMAIL})")
        self.stdout.write(f"  API key for {northwind.name}: {secret}")

    @transaction.atomic
    def _accounts(self) -> tuple[str, Merchant]:
        network, _ = Network.objects.get_or_create(slug=NETWORK[0], defaults={"name": NETWORK[1]})
        operator = _user(MALL_OPERATOR_EMAIL)
        for demo in MERCHANTS:
            merchant = self._merchant(demo, network)
            # The mall operator follows every merchant in the mall, read-only.
            StaffMembership.objects.get_or_create(merchant=merchant, user=operator, defaults={"role": Role.ANALYST})
        northwind = Merchant.objects.get(slug=MERCHANTS[0].slug)
        return self._api_key(northwind), northwind

    def _history(self, demo: DemoMerchant, *, shoppers: int | None, purchases: int | None, seed: int) -> None:
        merchant = Merchant.objects.get(slug=demo.slug)
        spec = HistorySpec(
            shoppers=demo.history.shoppers if shoppers is None else shoppers,
            purchases=demo.history.purchases if purchases is None else purchases,
            catalogue=demo.history.catalogue,
            seed=seed,
            anonymous_share=demo.history.anonymous_share,
            visit_share=demo.history.visit_share,
        )
        started = time.monotonic()

        def progress(message: str) -> None:
            if self.progress_out is not None:
                self.progress_out.write(f"  {merchant.name}: {message} ({time.monotonic() - started:.1f}s)")
                self.progress_out.flush()

        report = demo_history_load(merchant=merchant, spec=spec, progress=progress)
        if report is None:
            progress("has shoppers or purchases already; no history generated")
            return
        demo_tables_analyze()
        rows = ", ".join(f"{count:,} {table.removeprefix('profiles_')}" for table, count in report.rows.items())
        progress(rows)

    def _merchant(self, demo: DemoMerchant, network: Network | None) -> Merchant:
        owner = _user(f"owner@{demo.email_domain}")
        merchant = Merchant.objects.filter(slug=demo.slug).first()
        if merchant is None:
            merchant = services.merchant_create(
                name=demo.name,
                slug=demo.slug,
                owner=owner,
                currency=demo.currency,
                timezone_name=demo.timezone,
            )
        if network is not None:
            merchant.networks.add(network)
        for store in demo.stores:
            if not Store.objects.for_merchant(merchant).filter(name=store.name).exists():
                services.store_create(
                    merchant=merchant,
                    actor=owner,
                    name=store.name,
                    timezone_name=store.timezone or demo.timezone,
                    address=store.address,
                    region=store.region,
                    latitude=Decimal(store.latitude),
                    longitude=Decimal(store.longitude),
                    network_location_ids=[store.location_id],
                )
        first_store = Store.objects.for_merchant(merchant).order_by("pk").first()
        for role, local_part in ROLE_LOCAL_PARTS.items():
            user = _user(f"{local_part}@{demo.email_domain}")
            StaffMembership.objects.get_or_create(
                merchant=merchant,
                user=user,
                defaults={"role": role, "store": first_store if role == Role.STORE_STAFF else None},
            )
        return merchant

    def _api_key(self, merchant: Merchant) -> str:
        """The demo key's secret is kept in .devdata (git-ignored) so every run can print it."""
        existing = MerchantAPIKey.objects.for_merchant(merchant).filter(name=DEMO_KEY_NAME, revoked=False).first()
        if existing is not None and DEMO_KEY_FILE.exists():
            secret = DEMO_KEY_FILE.read_text().strip()
            if existing.is_valid(secret):
                return secret
        if existing is not None:
            services.api_key_revoke(api_key=existing, actor=None)
        _key, secret = services.api_key_create(merchant=merchant, actor=None, name=DEMO_KEY_NAME, scopes=ALL_API_SCOPES)
        DEMO_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
        DEMO_KEY_FILE.write_text(secret + "\n")
        return secret
