"""The home page: today's and this week's figures against a week before, in the merchant's time zone, each
figure as plain queries over raw rows give it; cards by role; a fixed number of queries."""

import zoneinfo
from datetime import datetime, timedelta

import pytest
from django.db.models import F, Sum
from django.urls import reverse

from campaigns.models import CampaignStatus
from loyalty.models import Account, Bucket, LedgerEntry, Reason
from merchants.home import home_cards, home_periods
from merchants.models import StaffMembership
from merchants.permissions import Role
from outbound.models import Endpoint
from payments.models import EventStatus, PaymentEvent, PaymentSource
from profiles.models import JoinedVia, Purchase, Shopper
from tests.campaigns.factories import CampaignFactory, SegmentFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import ContactFactory, PurchaseFactory, ShopperFactory

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
# A Wednesday, 10:30 in Seoul (01:30 UTC).
NOW = datetime(2026, 12, 2, 10, 30, tzinfo=SEOUL)


@pytest.fixture
def seoul_merchant(merchant):
    merchant.timezone = "Asia/Seoul"
    merchant.currency = "KRW"
    merchant.save(update_fields=["timezone", "currency"])
    return merchant


def _membership(user, merchant):
    return StaffMembership.objects.for_merchant(merchant).get(user=user)


def test_today_and_this_week_are_local_and_compared_with_a_week_before(seoul_merchant):
    periods = home_periods(merchant=seoul_merchant, now=NOW)

    assert periods.today.current.start == datetime(2026, 12, 2, 0, 0, tzinfo=SEOUL)
    assert periods.today.previous.start == datetime(2026, 11, 25, 0, 0, tzinfo=SEOUL)
    assert periods.today.previous.end == datetime(2026, 11, 25, 10, 30, tzinfo=SEOUL)
    assert periods.week.current.start == datetime(2026, 11, 30, 0, 0, tzinfo=SEOUL)  # Monday
    assert periods.week.previous == type(periods.week.previous)(
        datetime(2026, 11, 23, 0, 0, tzinfo=SEOUL), datetime(2026, 11, 25, 10, 30, tzinfo=SEOUL)
    )


def test_a_week_before_keeps_local_midnight_across_a_change_of_daylight_saving(db):
    from tests.factories import MerchantFactory

    paris = MerchantFactory(timezone="Europe/Paris")
    # Monday 2026-11-02: the clocks went back on Sunday 2026-10-25.
    periods = home_periods(merchant=paris, now=datetime(2026, 11, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")))

    assert periods.today.previous.start == datetime(2026, 10, 26, 0, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Paris"))
    assert periods.today.previous.start.hour == 23  # UTC: 23:00 the day before, as in winter time


def _sales_by_plain_query(merchant, start, end):
    rows = Purchase.objects.for_merchant(merchant).filter(occurred_at__gte=start, occurred_at__lt=end)
    counting = rows.filter(refunded_minor__lt=F("amount_minor"))
    return (
        rows.aggregate(total=Sum(F("amount_minor") - F("refunded_minor")))["total"] or 0,
        counting.count(),
        counting.exclude(shopper=None).values("shopper").distinct().count(),
    )


def test_sales_purchases_and_shoppers_match_the_raw_purchases(seoul_merchant, owner, other_merchant):
    # given purchases around the edges of today and this week (in Seoul), a refund, and another merchant's
    ann, bo = ShopperFactory.create_batch(2, merchant=seoul_merchant)
    moments = [
        datetime(2026, 12, 2, 0, 0, tzinfo=SEOUL),  # today's first instant
        datetime(2026, 12, 1, 23, 59, tzinfo=SEOUL),  # yesterday: this week, not today
        datetime(2026, 11, 30, 0, 0, tzinfo=SEOUL),  # Monday's first instant
        datetime(2026, 11, 29, 23, 59, tzinfo=SEOUL),  # Sunday before: last week, after the same stretch
        datetime(2026, 11, 25, 10, 29, tzinfo=SEOUL),  # last Wednesday before 10:30: the stretch before
        datetime(2026, 11, 25, 10, 31, tzinfo=SEOUL),  # last Wednesday after 10:30: not compared
        datetime(2026, 11, 23, 0, 0, tzinfo=SEOUL),  # last Monday
        datetime(2026, 12, 2, 10, 31, tzinfo=SEOUL),  # after now (a clock ahead)
    ]
    for index, moment in enumerate(moments):
        PurchaseFactory(
            merchant=seoul_merchant,
            shopper=(ann, bo, None)[index % 3],
            amount_minor=1000 * (index + 1),
            currency="KRW",
            occurred_at=moment,
        )
    PurchaseFactory(merchant=seoul_merchant, shopper=bo, amount_minor=7000, refunded_minor=7000, occurred_at=moments[0])
    PurchaseFactory(
        merchant=seoul_merchant, shopper=ann, amount_minor=9000, refunded_minor=4000, occurred_at=moments[2]
    )
    PurchaseFactory(merchant=other_merchant, amount_minor=99000, occurred_at=moments[0])

    # when
    cards = {
        card.key: card
        for card in home_cards(merchant=seoul_merchant, membership=_membership(owner, seoul_merchant), now=NOW)
    }

    # then each figure is what a plain query over the raw rows says, for the windows written out by hand
    rows = {row["label"]: row["cells"] for row in cards["sales"].context["rows"]}
    windows = [
        (datetime(2026, 12, 2, tzinfo=SEOUL), NOW, datetime(2026, 11, 25, tzinfo=SEOUL), NOW - timedelta(days=7)),
        (datetime(2026, 11, 30, tzinfo=SEOUL), NOW, datetime(2026, 11, 23, tzinfo=SEOUL), NOW - timedelta(days=7)),
    ]
    for column, (start, end, before_start, before_end) in enumerate(windows):
        current = _sales_by_plain_query(seoul_merchant, start, end)
        before = _sales_by_plain_query(seoul_merchant, before_start, before_end)
        for index, label in enumerate(("Sales", "Purchases", "Shoppers")):
            assert (rows[label][column]["current"], rows[label][column]["before"]) == (current[index], before[index])
    # and, worked out once by hand: today 1000 + (7000 − 7000), this week adds 2000, 3000 and 9000 − 4000
    assert rows["Sales"][0]["current"] == 1000
    assert rows["Sales"][1]["current"] == 1000 + 2000 + 3000 + 5000
    assert rows["Purchases"][1]["current"] == 4
    assert rows["Shoppers"][1]["current"] == 2


def test_signups_by_source_match_the_raw_shoppers(seoul_merchant, owner):
    kiosk = ShopperFactory.create_batch(3, merchant=seoul_merchant, joined_via=JoinedVia.KIOSK)
    wifi = ShopperFactory(merchant=seoul_merchant, joined_via=JoinedVia.WIFI)
    checkout = ShopperFactory(merchant=seoul_merchant, joined_via=JoinedVia.CHECKOUT)
    for shopper, moment in [
        (kiosk[0], datetime(2026, 12, 2, 9, 0, tzinfo=SEOUL)),
        (kiosk[1], datetime(2026, 12, 1, 9, 0, tzinfo=SEOUL)),
        (kiosk[2], datetime(2026, 11, 24, 9, 0, tzinfo=SEOUL)),
        (wifi, datetime(2026, 12, 2, 8, 0, tzinfo=SEOUL)),
        (checkout, datetime(2026, 11, 1, 8, 0, tzinfo=SEOUL)),  # long before: not shown
    ]:
        Shopper.objects.for_merchant(seoul_merchant).filter(pk=shopper.pk).update(created_at=moment)

    card = next(
        card
        for card in home_cards(merchant=seoul_merchant, membership=_membership(owner, seoul_merchant), now=NOW)
        if card.key == "signups"
    )

    rows = {row["label"]: row["cells"] for row in card.context["rows"]}
    plain = Shopper.objects.for_merchant(seoul_merchant).filter(
        created_at__gte=datetime(2026, 11, 30, tzinfo=SEOUL), created_at__lt=NOW
    )
    assert rows == {
        "Mall kiosk": [(1, 0), (plain.filter(joined_via=JoinedVia.KIOSK).count(), 1)],
        "Store Wi-Fi": [(1, 0), (1, 0)],
    }
    assert card.context["totals"] == [(2, 0), (plain.count(), 1)]


def test_points_issued_and_redeemed_match_the_ledger(seoul_merchant, owner):
    program = ProgramFactory(merchant=seoul_merchant)
    shopper = ShopperFactory(merchant=seoul_merchant)
    account = Account.objects.create(merchant=seoul_merchant, program=program, shopper=shopper, enrolled_at=NOW)
    today = datetime(2026, 12, 2, 9, 0, tzinfo=SEOUL)
    for points, reason, bucket in [
        (120, Reason.EARN, Bucket.PENDING),
        (-120, Reason.CLEARING, Bucket.PENDING),  # clearing moves points; it issues none
        (120, Reason.CLEARING, Bucket.AVAILABLE),
        (30, Reason.TIER, Bucket.AVAILABLE),
        (-100, Reason.REDEMPTION, Bucket.AVAILABLE),
        (40, Reason.REDEMPTION_REVERSAL, Bucket.AVAILABLE),
        (-10, Reason.EXPIRY, Bucket.AVAILABLE),
    ]:
        LedgerEntry.objects.create(
            merchant=seoul_merchant, account=account, bucket=bucket, points=points, reason=reason, created_at=today
        )

    card = next(
        card
        for card in home_cards(merchant=seoul_merchant, membership=_membership(owner, seoul_merchant), now=NOW)
        if card.key == "points"
    )

    rows = {row["label"]: row["cells"] for row in card.context["rows"]}
    assert rows["Issued"][0]["current"] == 150
    assert rows["Redeemed"][0]["current"] == 60


def _sources_and_endpoints(merchant, count):
    for index in range(count):
        source = PaymentSource.objects.create(merchant=merchant, provider="stripe", name=f"Stripe {index}")
        for status in (EventStatus.FAILED, EventStatus.UNMAPPED, EventStatus.PROCESSED):
            PaymentEvent.objects.create(
                merchant=merchant,
                source=source,
                event_id=f"evt_{index}_{status}",
                event_type="charge.succeeded",
                kind="purchase",
                location_id="tml_1",
                status=status,
                data={},
            )
        Endpoint.objects.create(
            merchant=merchant,
            url=f"https://example.com/hooks/{index}",
            events=["shopper.created"],
            secret="whsec_x",
            failing_since=NOW,
        )


def test_needs_attention_links_each_problem_to_its_page(owner_client, merchant, owner):
    _sources_and_endpoints(merchant, 1)
    segment = SegmentFactory(merchant=merchant)
    nobody = CampaignFactory(merchant=merchant, status=CampaignStatus.SCHEDULED, segment=segment, name="Spring sale")

    response = owner_client.get(reverse("dashboard"))

    page = response.content.decode()
    source = PaymentSource.objects.for_merchant(merchant).get()
    assert "Needs attention" in page
    assert reverse("payment_sources:location_map", args=[source.pk]) in page
    assert reverse("payment_sources:detail", args=[source.pk]) + "?status=failed" in page
    assert "https://example.com/hooks/0" in page
    assert "has nobody in its audience who can be sent a message" in page
    assert reverse("campaigns:campaign_report", args=[nobody.pk]) in page
    assert "Shopper-level insights have not been computed yet" in page


def test_a_campaign_with_a_consenting_confirmed_shopper_is_not_flagged(owner, merchant):
    from profiles.models import ConsentChannel, ConsentEvent, ConsentPurpose, ConsentSource

    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=shopper, merchant=merchant, kind="email", is_verified=True)
    ConsentEvent.objects.create(
        merchant=merchant,
        shopper=shopper,
        channel=ConsentChannel.EMAIL,
        purpose=ConsentPurpose.MARKETING,
        is_granted=True,
        occurred_at=NOW - timedelta(days=1),
        source=ConsentSource.API_KEY,
    )
    CampaignFactory(merchant=merchant, status=CampaignStatus.ACTIVE, segment=SegmentFactory(merchant=merchant))

    card = next(
        card
        for card in home_cards(merchant=merchant, membership=_membership(owner, merchant))
        if card.key == "campaigns"
    )

    assert card.attention == ()


@pytest.mark.parametrize(
    ("role", "shown", "hidden"),
    [
        (Role.OWNER, ["Sales", "New sign-ups", "Running campaigns", "Needs attention"], []),
        (Role.ANALYST, ["Sales", "Loyalty points", "Running campaigns"], ["Stripe 0", "example.com/hooks"]),
        (Role.STORE_STAFF, ["New sign-ups"], ["Sales", "Loyalty points", "Running campaigns", "Stripe 0"]),
    ],
)
def test_a_role_sees_only_the_cards_it_may_open(role, shown, hidden, merchant, user_for_role, client_for):
    ProgramFactory(merchant=merchant)
    _sources_and_endpoints(merchant, 1)

    page = client_for(user_for_role(role)).get(reverse("dashboard")).content.decode()

    for text in shown:
        assert text in page
    for text in hidden:
        assert text not in page


def test_figures_are_shown_in_the_currency_and_link_to_their_page(owner_client, seoul_merchant):
    PurchaseFactory(merchant=seoul_merchant, amount_minor=18000, currency="KRW")

    page = owner_client.get(reverse("dashboard")).content.decode()

    assert "₩18,000" in page
    assert f'href="{reverse("insights:overview")}"' in page


def _data(merchant, size):
    _sources_and_endpoints(merchant, size)
    shoppers = ShopperFactory.create_batch(size, merchant=merchant, joined_via=JoinedVia.KIOSK)
    for shopper in shoppers:
        PurchaseFactory(merchant=merchant, shopper=shopper)
    for _ in range(size):
        CampaignFactory(merchant=merchant, status=CampaignStatus.ACTIVE, segment=SegmentFactory(merchant=merchant))


def test_the_home_page_reads_a_fixed_number_of_queries_whatever_the_data(
    owner_client, merchant, django_assert_num_queries
):
    # given a little data, counted once
    ProgramFactory(merchant=merchant)
    _data(merchant, 1)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        assert owner_client.get(reverse("dashboard")).status_code == 200

    # when there is several times as much of everything
    _data(merchant, 6)

    # then the page asks as many queries
    with django_assert_num_queries(len(small.captured_queries)):
        response = owner_client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert len(small.captured_queries) <= 30, len(small.captured_queries)


def test_a_snapshot_older_than_six_hours_needs_attention_and_a_fresh_one_does_not(owner, merchant):
    from insights.models import InsightSnapshot

    snapshot = InsightSnapshot.objects.create(
        merchant=merchant, section="meta", computed_at=NOW - timedelta(hours=30), data={}
    )

    def attention():
        cards = home_cards(merchant=merchant, membership=_membership(owner, merchant), now=NOW)
        return [item.text for card in cards for item in card.attention]

    assert "Shopper-level insights were last computed 30 hours ago" in attention()
    InsightSnapshot.objects.for_merchant(merchant).filter(pk=snapshot.pk).update(
        computed_at=NOW - timedelta(minutes=20)
    )
    assert not any("Shopper-level insights" in text for text in attention())


def test_the_favicon_is_an_icon_not_a_404(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")
    assert client.get(response["Location"]).status_code == 200
