"""Demo data: a mall with two merchants, their stores, staff for every role and an API key.

Running it again changes nothing that exists; it only fills what is missing.
"""

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

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


@dataclass(frozen=True)
class DemoMerchant:
    slug: str
    name: str
    currency: str
    timezone: str
    email_domain: str
    stores: tuple[DemoStore, ...]


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
    ),
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
    help = "Create demo merchants, stores, staff and an API key. Safe to run again."

    @transaction.atomic
    def handle(self, *args, **options):
        network, _ = Network.objects.get_or_create(slug=NETWORK[0], defaults={"name": NETWORK[1]})
        operator = _user(MALL_OPERATOR_EMAIL)
        for demo in MERCHANTS:
            merchant = self._merchant(demo, network)
            # The mall operator follows every merchant in the mall, read-only.
            StaffMembership.objects.get_or_create(merchant=merchant, user=operator, defaults={"role": Role.ANALYST})
        northwind = Merchant.objects.get(slug=MERCHANTS[0].slug)
        secret = self._api_key(northwind)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Sign in as owner@{MERCHANTS[0].email_domain} / {DEMO_PASSWORD}")
        self.stdout.write(f"  (also manager@, analyst@, staff@ of each merchant, and {MALL_OPERATOR_EMAIL})")
        self.stdout.write(f"  API key for {northwind.name}: {secret}")

    def _merchant(self, demo: DemoMerchant, network: Network) -> Merchant:
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
        merchant.networks.add(network)
        for store in demo.stores:
            if not Store.objects.for_merchant(merchant).filter(name=store.name).exists():
                services.store_create(
                    merchant=merchant,
                    actor=owner,
                    name=store.name,
                    timezone_name=demo.timezone,
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
