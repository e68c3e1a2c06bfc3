"""An offer is shown only while live, and the moment its window ends it is gone from every surface:
the message's landing page, the preference centre and the API's offers-for-shopper list."""

import zoneinfo
from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone

from campaigns.links import offer_url
from campaigns.models import AssignmentGroup, OfferKind
from campaigns.offers.selectors import offer_closes_at, offer_is_live, offers_for_shopper
from campaigns.offers.services import coupon_issue
from profiles.links import preference_centre_path
from tests.campaigns.factories import AssignmentFactory, CampaignFactory, OfferFactory, OutboxMessageFactory
from tests.factories import StoreFactory
from tests.loyalty.factories import OfferFactory as CardLinkedOfferFactory
from tests.loyalty.factories import ProgramFactory
from tests.profiles.factories import ShopperFactory

pytestmark = pytest.mark.django_db
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture
def shopper(merchant):
    return ShopperFactory(merchant=merchant, language="en")


@pytest.fixture
def coupon_offer(merchant):
    return OfferFactory(merchant=merchant, name="Ten off tonight", description="10.00 off any purchase")


@pytest.fixture
def message(merchant, shopper, coupon_offer):
    campaign = CampaignFactory(merchant=merchant, offer=coupon_offer)
    assignment = AssignmentFactory(campaign=campaign, shopper=shopper)
    coupon = coupon_issue(offer=coupon_offer, shopper=shopper, at=timezone.now())
    return OutboxMessageFactory(assignment=assignment, coupon=coupon, status="sent")


def _surfaces(client, api_client, path_of, message, shopper):
    """What each surface shows now: (landing page response, preference centre html, API offer names)."""
    landing = client.get(path_of(offer_url(message_id=message.pk, language="en")))
    preferences = client.get(preference_centre_path(shopper, language="en")).content.decode()
    api = api_client.get(f"/api/v1/shoppers/{shopper.public_id}/offers")
    assert api.status_code == 200
    return landing, preferences, [item["offer"]["name"] for item in api.json()["offers"]]


def test_a_live_offer_shows_on_every_surface(client, api_client, path_of, message, shopper):
    landing, preferences, api_names = _surfaces(client, api_client, path_of, message, shopper)

    code = message.coupon.code
    assert landing.status_code == 200 and code in landing.content.decode()
    assert "Ten off tonight" in preferences and code in preferences
    assert api_names == ["Ten off tonight"]
    assert api_client.get(f"/api/v1/shoppers/{shopper.public_id}/offers").json()["offers"][0]["code"] == code


def test_an_offer_whose_window_has_ended_is_gone_from_every_surface(
    client, api_client, path_of, message, shopper, coupon_offer
):
    # given: the window ended a moment ago
    coupon_offer.valid_until = timezone.now() - timedelta(seconds=1)
    coupon_offer.save()

    landing, preferences, api_names = _surfaces(client, api_client, path_of, message, shopper)

    assert landing.status_code == 410
    assert message.coupon.code not in landing.content.decode()
    assert "This offer has ended." in landing.content.decode()
    assert "Ten off tonight" not in preferences and message.coupon.code not in preferences
    assert api_names == []


def _local_now(merchant):
    return timezone.now().astimezone(zoneinfo.ZoneInfo(merchant.timezone))


def test_outside_its_daily_hours_the_offer_is_hidden_everywhere(
    client, api_client, path_of, message, shopper, coupon_offer, merchant
):
    # given: a daily window that closed an hour ago (in the merchant's timezone)
    now = _local_now(merchant)
    coupon_offer.daily_start = (now - timedelta(hours=3)).time()
    coupon_offer.daily_end = (now - timedelta(hours=1)).time()
    coupon_offer.save()

    landing, preferences, api_names = _surfaces(client, api_client, path_of, message, shopper)

    assert landing.status_code == 200 and "not available right now" in landing.content.decode()
    assert message.coupon.code not in landing.content.decode()
    assert "Ten off tonight" not in preferences
    assert api_names == []


def test_inside_its_daily_hours_the_offer_shows(client, api_client, path_of, message, shopper, coupon_offer, merchant):
    now = _local_now(merchant)
    coupon_offer.daily_start = (now - timedelta(hours=1)).time()
    coupon_offer.daily_end = (now + timedelta(hours=1)).time()
    coupon_offer.save()

    landing, preferences, api_names = _surfaces(client, api_client, path_of, message, shopper)

    assert message.coupon.code in landing.content.decode()
    assert "Ten off tonight" in preferences
    assert api_names == ["Ten off tonight"]


def test_liveness_ends_exactly_at_valid_until(merchant):
    end = timezone.now().replace(microsecond=0) + timedelta(days=1)
    offer = OfferFactory(merchant=merchant, valid_until=end)

    assert offer_is_live(offer, at=end - timedelta(microseconds=1))
    assert not offer_is_live(offer, at=end)
    assert not offer_is_live(offer, at=offer.valid_from - timedelta(microseconds=1))


def test_daily_window_is_read_in_the_stores_timezone(merchant):
    # given: 16:00-20:00 at a store in Seoul (UTC+9), the merchant in UTC
    store = StoreFactory(merchant=merchant, timezone="Asia/Seoul")
    day = timezone.now().astimezone(SEOUL).date() + timedelta(days=1)
    offer = OfferFactory(
        merchant=merchant,
        store=store,
        daily_start=time(16),
        daily_end=time(20),
        valid_until=timezone.now() + timedelta(days=5),
    )

    def at(hour, minute=0):
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL)

    assert not offer_is_live(offer, at=at(15, 59))
    assert offer_is_live(offer, at=at(16))
    assert offer_is_live(offer, at=at(19, 59))
    assert not offer_is_live(offer, at=at(20))  # 11:00 UTC: the window ended at 20:00 in Seoul
    assert offer_closes_at(offer, at=at(17)) == at(20)


def test_a_daily_window_across_midnight(merchant):
    offer = OfferFactory(
        merchant=merchant, daily_start=time(22), daily_end=time(2), valid_until=timezone.now() + timedelta(days=5)
    )
    day = timezone.now().date() + timedelta(days=1)
    local = zoneinfo.ZoneInfo(merchant.timezone)  # no store: the merchant's timezone

    assert offer_is_live(offer, at=datetime.combine(day, time(23, 30), tzinfo=local))
    assert offer_is_live(offer, at=datetime.combine(day, time(1, 59), tzinfo=local))
    assert not offer_is_live(offer, at=datetime.combine(day, time(2), tzinfo=local))
    assert not offer_is_live(offer, at=datetime.combine(day, time(21, 59), tzinfo=local))


def test_an_offer_at_its_cap_is_not_live(merchant, shopper):
    offer = OfferFactory(merchant=merchant, max_redemptions=1)
    coupon = coupon_issue(offer=offer, shopper=shopper, at=timezone.now())
    other = coupon_issue(offer=offer, shopper=ShopperFactory(merchant=merchant), at=timezone.now())
    assert offer_is_live(offer, at=timezone.now())

    coupon.redeemed_at = timezone.now()
    coupon.save()

    assert not offer_is_live(offer, at=timezone.now())
    assert offers_for_shopper(merchant=merchant, shopper=other.shopper, at=timezone.now()) == []


def test_card_linked_offers_show_to_messaged_shoppers_until_they_apply(merchant, shopper):
    from loyalty.models import OfferAward

    linked = CardLinkedOfferFactory(program=ProgramFactory(merchant=merchant))
    offer = OfferFactory(merchant=merchant, kind=OfferKind.CARD_LINKED, card_linked_offer=linked, amount_off_minor=0)
    campaign = CampaignFactory(merchant=merchant, offer=offer)
    AssignmentFactory(campaign=campaign, shopper=shopper)
    held_out = AssignmentFactory(campaign=campaign, group=AssignmentGroup.HOLDOUT).shopper
    now = timezone.now()

    shown = offers_for_shopper(merchant=merchant, shopper=shopper, at=now)
    assert [(item.offer, item.code) for item in shown] == [(offer, None)]
    assert offers_for_shopper(merchant=merchant, shopper=held_out, at=now) == []

    OfferAward.objects.create(merchant=merchant, offer=linked, shopper=shopper, cost_minor=10, created_at=now)
    assert offers_for_shopper(merchant=merchant, shopper=shopper, at=now) == []


def test_offer_landing_page_in_the_shoppers_language(client, path_of, message, shopper):
    shopper.language = "ko"
    shopper.save()

    response = client.get(path_of(offer_url(message_id=message.pk)))

    assert response.status_code == 200
    assert response["Content-Language"] == "ko"
    assert message.coupon.code in response.content.decode()


def test_forged_offer_link_is_404(client):
    response = client.get("/s/c/offer/not-a-real-token/")
    assert response.status_code == 404


def test_offers_api_is_merchant_scoped(other_api_client, shopper, message):
    response = other_api_client.get(f"/api/v1/shoppers/{shopper.public_id}/offers")
    assert response.status_code == 404


def test_the_preference_centre_reads_offers_in_a_fixed_number_of_queries(
    client, shopper, merchant, django_assert_max_num_queries
):
    # given: three live coupons (one capped) and a card-linked offer
    linked = CardLinkedOfferFactory(program=ProgramFactory(merchant=merchant))
    card_offer = OfferFactory(merchant=merchant, kind=OfferKind.CARD_LINKED, card_linked_offer=linked)
    AssignmentFactory(campaign=CampaignFactory(merchant=merchant, offer=card_offer), shopper=shopper)
    for number in range(3):
        offer = OfferFactory(merchant=merchant, name=f"Coupon {number}", max_redemptions=5 if number else None)
        coupon_issue(offer=offer, shopper=shopper, at=timezone.now())

    # (the seventh: loyalty's section asks for the shopper's points account)
    with django_assert_max_num_queries(7):
        page = client.get(preference_centre_path(shopper, language="en")).content.decode()

    assert all(f"Coupon {number}" in page for number in range(3))
    assert card_offer.name in page


def test_the_landing_page_tells_the_closing_time_in_the_stores_timezone(
    client, path_of, message, coupon_offer, merchant
):
    store = StoreFactory(merchant=merchant, timezone="Asia/Seoul")
    coupon_offer.store = store
    coupon_offer.valid_until = datetime(2031, 1, 31, 12, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))
    coupon_offer.save()

    page = client.get(path_of(offer_url(message_id=message.pk, language="en"))).content.decode()

    assert "Jan. 31, 2031, 9 p.m." in page  # 12:00 UTC is 21:00 in Seoul
    assert "Asia/Seoul" in page


def test_a_card_linked_offer_page_needs_no_code(client, path_of, merchant, shopper):
    linked = CardLinkedOfferFactory(program=ProgramFactory(merchant=merchant))
    offer = OfferFactory(merchant=merchant, name="Double points", kind=OfferKind.CARD_LINKED, card_linked_offer=linked)
    assignment = AssignmentFactory(campaign=CampaignFactory(merchant=merchant, offer=offer), shopper=shopper)
    message = OutboxMessageFactory(assignment=assignment, status="sent")

    page = client.get(path_of(offer_url(message_id=message.pk, language="en"))).content.decode()

    assert "Double points" in page
    assert "the offer applies itself, no code needed" in page
    assert 'id="coupon-code"' not in page


def test_a_card_linked_offer_whose_loyalty_offer_ended_is_not_live(merchant):
    linked = CardLinkedOfferFactory(program=ProgramFactory(merchant=merchant))
    offer = OfferFactory(merchant=merchant, kind=OfferKind.CARD_LINKED, card_linked_offer=linked)
    assert offer_is_live(offer, at=timezone.now())

    linked.is_active = False
    linked.save()

    assert not offer_is_live(offer, at=timezone.now())
