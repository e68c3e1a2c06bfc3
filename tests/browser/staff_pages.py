"""Every staff page, enumerated from the URL conf, with the objects its URL needs (made by factories and services).

`staff_page_urls()` walks the URL conf: each page under a staff prefix, with its URL arguments filled from the
world `world_build()` made. A URL that answers a GET with anything but an HTML page (a POST-only action, a CSV
download, an htmx fragment) is not a page: `page_urls()` keeps the pages only, so a page added later is
checked without anyone adding it here.
"""

import io
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from campaigns.models import CampaignKind
from campaigns.segments import services as segment_services
from exports.models import ExportJob, ExportStatus
from imports.services import jobs as import_jobs
from insights import services as insights_services
from loyalty.models import PartnerAgreement
from merchants.permissions import Role
from outbound.services import endpoints
from payments.models import EventStatus, PaymentEvent
from profiles.models import JoinedVia, SignupPointKind
from profiles.services import rollups, signup
from tests.campaigns.factories import CampaignFactory, OfferFactory, SegmentFactory, TemplateFactory, VariantFactory
from tests.factories import MembershipFactory, MerchantFactory, NetworkFactory, StoreFactory, UserFactory
from tests.loyalty.factories import ProgramFactory, RewardFactory, RuleFactory, TierFactory
from tests.payments.helpers import make_source
from tests.profiles.factories import ContactFactory, PurchaseFactory, ShopperFactory

# URL prefixes of the staff back-office (shopper pages, the API, the admin and sign-in are not staff pages).
STAFF_PREFIXES = ("", "shoppers/", "settings/", "loyalty/", "campaigns/", "insights/", "segments/")
# A file ready to download (the world's export is still running, so it answers 404).
DOWNLOADS = {"exports:job_download"}
NOT_STAFF = ("s/", "api/", "admin/", "accounts/", "healthz", "readyz", "invitations/", "switch/")


@dataclass
class World:
    owner: Any
    merchant: Any
    arguments: dict[str, Any]
    # Arguments that mean another object on some URLs (an import job's public id, not a shopper's), by URL name.
    arguments_by_name: dict[str, dict[str, Any]]


def world_build(*, currency: str = "EUR") -> World:
    """A small merchant with one of every object a staff page shows."""
    merchant = MerchantFactory(name="Northwind Outfitters", currency=currency, timezone="Europe/Amsterdam")
    partner = MerchantFactory(name="Blue Bean Coffee", currency=currency)
    NetworkFactory(name="Riverside Mall", slug="riverside").merchants.add(merchant, partner)
    store = StoreFactory(merchant=merchant, name="Riverside Mall", region="North", network_location_ids=["LOC-1"])
    owner = UserFactory(email="owner@northwind.test")
    MembershipFactory(merchant=merchant, user=owner, role=Role.OWNER)
    teammate = MembershipFactory(merchant=merchant, role=Role.STORE_STAFF, store=store)

    now = timezone.now()
    shoppers = []
    for number in range(6):
        shopper = ShopperFactory(
            merchant=merchant, first_name=f"Mina{number}", last_name="Kim", joined_via=JoinedVia.KIOSK
        )
        ContactFactory(shopper=shopper, value=f"mina{number}@example.com")
        for days in (2, 20, 45):
            PurchaseFactory(
                merchant=merchant,
                shopper=shopper,
                store=store,
                channel="in_store",
                currency=currency,
                amount_minor=180_000 + number * 1000,
                occurred_at=now - timedelta(days=days + number),
            )
        shoppers.append(shopper)

    program = ProgramFactory(merchant=merchant)
    rule = RuleFactory(program=program, name="Double points on Sundays", multiplier=2)
    TierFactory(program=program, name="Gold", threshold=500_000)
    RewardFactory(program=program, name="Coffee on us")
    PartnerAgreement.objects.create(merchant=merchant, partner=partner, bonus_points_per_unit=1, unit_minor=100)

    segment = SegmentFactory(merchant=merchant, name="Everyone")
    snapshot = segment_services.snapshot_create(segment=segment, actor=None)
    campaign = CampaignFactory(merchant=merchant, name="Spring sale", kind=CampaignKind.BROADCAST, segment=segment)
    TemplateFactory(variant=VariantFactory(campaign=campaign), subject="Spring", body="Hello {{ first_name }}")
    offer = OfferFactory(merchant=merchant, name="Ten off")

    source = make_source(merchant, "stripe", store=store)
    event = PaymentEvent.objects.create(
        merchant=merchant,
        source=source,
        event_id="evt_1",
        event_type="charge.captured",
        kind="capture",
        transaction_id="ch_1",
        data={"provider": "stripe", "event_id": "evt_1", "kind": "capture", "amount_minor": 2300},
        status=EventStatus.FAILED,
        detail={"message": "Location LOC-9 is not mapped to a store yet."},
    )
    new_endpoint = endpoints.endpoint_create(
        merchant=merchant, actor=None, url="https://hooks.example.com/storeloop", events=["shopper.created"]
    )
    job = ExportJob.objects.create(
        merchant=merchant,
        kind="shoppers",
        date_from=(now - timedelta(days=30)).date(),
        date_to=now.date(),
        requested_by=owner,
        status=ExportStatus.RUNNING,
        row_count=200,
        rows_written=50,
    )
    signup.signup_point_create(
        merchant=merchant, actor=None, store=store, kind=SignupPointKind.KIOSK, name="Level 2 kiosk"
    )
    import_job = import_jobs.job_create(
        merchant=merchant,
        actor=owner,
        kind="purchases",
        upload=io.BytesIO(b"order_id,occurred_at,total,currency\nA-1,2026-11-02 10:00,18.00,EUR\n"),
        file_name="history.csv",
    )
    import_jobs.job_check(job=import_job)
    with transaction.atomic():  # the factories wrote purchases past the ingest that keeps the rollups
        rollups.rollups_rebuild(merchant=merchant)
    insights_services.insights_refresh(merchant=merchant)
    arguments = {
        "store_id": store.pk,
        "membership_id": teammate.pk,
        "public_id": shoppers[0].public_id,
        "source_id": source.pk,
        "event_id": event.pk,
        "rule_id": rule.pk,
        "campaign_id": campaign.pk,
        "offer_id": offer.pk,
        "segment_id": segment.pk,
        "snapshot_id": snapshot.pk,
        "endpoint_id": new_endpoint.endpoint.pk,
        "job_id": job.pk,
    }
    by_name = {
        f"imports:{name}": {"public_id": import_job.public_id}
        for name in ("detail", "check", "start", "progress", "errors")
    }
    return World(owner=owner, merchant=merchant, arguments=arguments, arguments_by_name=by_name)


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> list[tuple[str, str, URLPattern]]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found.extend(_walk(pattern.url_patterns, route, inner))
        elif pattern.name:
            found.append((f"{namespace}{pattern.name}", route, pattern))
    return found


def staff_page_urls(world: World) -> tuple[dict[str, str], list[str]]:
    """(name → URL of every staff URL whose arguments the world has, names it could not fill)."""
    urls: dict[str, str] = {}
    unfilled = []
    for name, route, pattern in _walk(get_resolver().url_patterns):
        if route.startswith(NOT_STAFF) or not route.startswith(STAFF_PREFIXES) or route.startswith("^"):
            continue
        keys = list(pattern.pattern.converters)
        arguments = {**world.arguments, **world.arguments_by_name.get(name, {})}
        if any(key not in arguments for key in keys):
            unfilled.append(name)
            continue
        path = route
        for key, converter in pattern.pattern.converters.items():
            path = path.replace(f"<{_converter_name(converter)}:{key}>", converter.to_url(arguments[key]))
        urls[name] = "/" + path
    return urls, unfilled


def _converter_name(converter: Any) -> str:
    return {"IntConverter": "int", "UUIDConverter": "uuid", "StringConverter": "str", "SlugConverter": "slug"}[
        type(converter).__name__
    ]


def page_urls(world: World) -> tuple[dict[str, str], list[str]]:
    """The staff URLs that are pages: a GET answers 200 with a whole HTML document. Also the names that failed."""
    client = Client()
    client.force_login(world.owner)
    urls, _unfilled = staff_page_urls(world)
    pages, broken = {}, []
    for name, url in urls.items():
        if name in DOWNLOADS:
            continue
        response = client.get(url)
        if response.status_code == 405 or "text/html" not in response.get("Content-Type", ""):
            continue  # an action (POST only) or a download
        if response.status_code in (301, 302):
            continue  # a page that sends on (settings home → its first tab)
        if response.status_code != 200:
            broken.append(f"{name} {url} answered {response.status_code}")
            continue
        if b"<html" not in response.content[:400]:
            continue  # an htmx fragment of a page
        pages[name] = url
    return pages, broken


def signed_in_context(browser: Any, world: World, live_server_url: str, *, width: int, height: int) -> Any:
    """A browser context at that size, signed in as the world's owner (the session of Django's test client)."""
    client = Client()
    client.force_login(world.owner)
    context = browser.new_context(viewport={"width": width, "height": height})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server_url}])
    return context
