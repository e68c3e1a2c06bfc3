"""The sender's guard rails, checked at send time, and its exactly-once effect."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from campaigns.models import CampaignSettings, CampaignStatus, OutboxMessage, OutboxStatus
from campaigns.services import sending
from campaigns.services.assignment import Entry, entries_create
from profiles.models import ErasedContact
from profiles.services.shoppers import contact_hmac
from tests.campaigns.engine.helpers import campaign_with_message, consent, reachable_shopper
from tests.campaigns.factories import OfferFactory
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def _queued(campaign, shoppers, key="broadcast"):
    campaign.status = CampaignStatus.ACTIVE
    campaign.save(update_fields=["status"])
    return entries_create(campaign=campaign, entries=[Entry(shopper.pk, key) for shopper in shoppers])


def _message(campaign, shopper):
    return OutboxMessage.objects.get(campaign=campaign, shopper=shopper)


def test_a_consenting_shopper_gets_the_message_in_their_language_with_an_unsubscribe(merchant, daytime):
    # given
    english = reachable_shopper(merchant, first_name="Ada", language="en")
    korean = reachable_shopper(merchant, first_name="Min", language="ko")
    campaign = campaign_with_message(merchant)
    _queued(campaign, [english, korean])

    # when
    report = sending.outbox_send()

    # then
    assert report.sent == 2
    by_address = {message.to[0]: message for message in mail.outbox}
    ada = by_address[english.contacts.get().value]
    assert ada.subject == "[A] Hello Ada"
    assert "you have 0 points" in ada.body
    assert ada.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = ada.extra_headers["List-Unsubscribe"].strip("<>")
    assert unsubscribe in ada.body
    assert "/s/" in unsubscribe
    assert by_address[korean.contacts.get().value].body.startswith("안녕하세요 Min")
    stored = _message(campaign, english)
    assert stored.status == OutboxStatus.SENT
    assert stored.sent_at is not None
    assert stored.subject == "[A] Hello Ada"
    assert stored.to == english.contacts.get().value


def test_the_unsubscribe_link_in_a_message_withdraws_consent(merchant, daytime, client):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])
    sending.outbox_send()
    link = mail.outbox[0].extra_headers["List-Unsubscribe"].strip("<>")

    response = client.post(link.split("localhost:8000", 1)[-1], {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    latest = shopper.consent_events.filter(channel="email", purpose="marketing").order_by("-occurred_at", "-pk").first()
    assert latest.is_granted is False


def test_no_consent_means_no_message(merchant, daytime):
    never_asked = reachable_shopper(merchant, purposes=())
    campaign = campaign_with_message(merchant)
    _queued(campaign, [never_asked])

    sending.outbox_send()

    assert mail.outbox == []
    message = _message(campaign, never_asked)
    assert (message.status, message.reason) == (OutboxStatus.SUPPRESSED, "no_consent")


def test_consent_withdrawn_after_queueing_stops_the_send(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])

    consent(shopper, granted=False)
    sending.outbox_send()

    assert mail.outbox == []
    assert _message(campaign, shopper).reason == "no_consent"


def test_consent_for_another_purpose_or_channel_does_not_count(merchant, daytime):
    shopper = reachable_shopper(merchant, purposes=("feedback",))
    consent(shopper, channel="sms", purpose="marketing")
    campaign = campaign_with_message(merchant, purpose="marketing")
    _queued(campaign, [shopper])

    sending.outbox_send()

    assert mail.outbox == []


def test_an_unconfirmed_address_is_not_written_to(merchant, daytime):
    shopper = reachable_shopper(merchant)
    shopper.contacts.update(is_verified=False)
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])

    sending.outbox_send()

    assert mail.outbox == []
    assert _message(campaign, shopper).reason == "no_contact"


def test_an_erased_address_is_never_written_to_again(merchant, daytime):
    shopper = reachable_shopper(merchant)
    address = shopper.contacts.get().value
    ErasedContact.objects.create(merchant=merchant, kind="email", value_hmac=contact_hmac("email", address))
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])

    sending.outbox_send()

    assert mail.outbox == []
    assert _message(campaign, shopper).reason == "suppressed"


def test_an_expired_offer_is_not_sent(merchant, daytime):
    offer = OfferFactory(merchant=merchant, valid_until=timezone.now() + timedelta(hours=1))
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant, offer=offer)
    _queued(campaign, [shopper])
    offer.valid_until = timezone.now() - timedelta(minutes=1)
    offer.save()

    sending.outbox_send()

    assert mail.outbox == []
    assert _message(campaign, shopper).reason == "expired"


def test_an_offer_whose_redemptions_ran_out_is_not_sent(merchant, daytime):
    from campaigns.models import Coupon

    offer = OfferFactory(merchant=merchant, max_redemptions=1)
    shopper, earlier = reachable_shopper(merchant), reachable_shopper(merchant)
    Coupon.objects.create(
        merchant=merchant,
        offer=offer,
        shopper=earlier,
        code="USED0001",
        issued_at=timezone.now(),
        redeemed_at=timezone.now(),
    )
    campaign = campaign_with_message(merchant, offer=offer)
    _queued(campaign, [shopper])

    sending.outbox_send()

    assert mail.outbox == []
    assert _message(campaign, shopper).reason == "expired"


def test_an_offer_with_evening_hours_may_be_announced_in_the_morning(merchant, daytime):
    """Outside the offer's daily window the message still goes: it announces the hours."""
    import zoneinfo

    local = timezone.now().astimezone(zoneinfo.ZoneInfo(merchant.timezone))
    window = ((local + timedelta(hours=2)).time().replace(minute=0, second=0, microsecond=0),
              (local + timedelta(hours=3)).time().replace(minute=0, second=0, microsecond=0))  # fmt: skip
    offer = OfferFactory(merchant=merchant, daily_start=window[0], daily_end=window[1])
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant, offer=offer)
    _queued(campaign, [shopper])

    sending.outbox_send()

    assert len(mail.outbox) == 1


def test_a_coupon_offer_carries_the_shoppers_own_code(merchant, daytime):
    offer = OfferFactory(merchant=merchant)
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant, offer=offer)
    campaign.variants.get().templates.filter(language="en").update(body="Your code: {{ coupon_code }} {{ offer_url }}")
    _queued(campaign, [shopper])

    sending.outbox_send()

    message = _message(campaign, shopper)
    assert message.coupon is not None
    assert f"Your code: {message.coupon.code} http" in mail.outbox[0].body
    assert "/s/c/" in mail.outbox[0].body


def test_a_template_without_the_code_still_gets_it_in_the_shoppers_language(merchant, daytime):
    """The template forgot {{ coupon_code }} and {{ offer_url }}: both follow the text, then the footer, in Korean."""
    offer = OfferFactory(merchant=merchant)
    shopper = reachable_shopper(merchant, language="ko")
    campaign = campaign_with_message(merchant, offer=offer)
    _queued(campaign, [shopper])

    sending.outbox_send()

    body = mail.outbox[0].body
    code = _message(campaign, shopper).coupon.code
    assert body.startswith("안녕하세요")
    assert f"쿠폰 코드: {code}" in body
    assert "혜택 보기: http" in body and "/s/c/offer/" in body
    assert "수신 거부: http" in body
    assert body.index(code) < body.index("수신 거부")


def test_frequency_cap_counts_messages_of_every_campaign(merchant, daytime):
    CampaignSettings.objects.filter(merchant=merchant).update(frequency_cap_messages=2, frequency_cap_days=7)
    shopper = reachable_shopper(merchant)
    first, second, third = (campaign_with_message(merchant) for _ in range(3))
    _queued(first, [shopper])
    sending.outbox_send()
    _queued(second, [shopper])
    sending.outbox_send()

    _queued(third, [shopper])
    sending.outbox_send()

    assert len(mail.outbox) == 2
    assert _message(third, shopper).reason == "frequency_cap"


def test_frequency_cap_forgets_messages_older_than_its_window(merchant, daytime):
    CampaignSettings.objects.filter(merchant=merchant).update(frequency_cap_messages=1, frequency_cap_days=7)
    shopper = reachable_shopper(merchant)
    old, new = campaign_with_message(merchant), campaign_with_message(merchant)
    _queued(old, [shopper])
    sending.outbox_send()
    OutboxMessage.objects.filter(campaign=old).update(sent_at=timezone.now() - timedelta(days=8))

    _queued(new, [shopper])
    sending.outbox_send()

    assert _message(new, shopper).status == OutboxStatus.SENT


@pytest.mark.parametrize(
    ("moment", "seoul_sent", "new_york_sent"),
    [
        # 13:00 UTC: 22:00 in Seoul (quiet), 08:00 in New York (quiet, before 09:00)
        (datetime(2026, 11, 23, 13, 0, tzinfo=UTC), False, False),
        # 02:00 UTC: 11:00 in Seoul, 21:00 (the evening before) in New York
        (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), True, False),
        # 16:00 UTC: 01:00 in Seoul, 11:00 in New York
        (datetime(2026, 11, 23, 16, 0, tzinfo=UTC), False, True),
    ],
)
def test_quiet_hours_in_each_shoppers_timezone(merchant, moment, seoul_sent, new_york_sent, monkeypatch):
    CampaignSettings.objects.update_or_create(
        merchant=merchant, defaults={"quiet_hours_start": "21:00", "quiet_hours_end": "09:00"}
    )
    seoul = reachable_shopper(merchant, home_store=StoreFactory(merchant=merchant, timezone="Asia/Seoul"))
    new_york = reachable_shopper(merchant, home_store=StoreFactory(merchant=merchant, timezone="America/New_York"))
    campaign = campaign_with_message(merchant)
    _queued(campaign, [seoul, new_york])
    OutboxMessage.all_merchants.update(not_before=moment)
    monkeypatch.setattr(timezone, "now", lambda: moment)

    sending.outbox_send()

    for shopper, expect_sent, zone in (
        (seoul, seoul_sent, "Asia/Seoul"),
        (new_york, new_york_sent, "America/New_York"),
    ):
        message = _message(campaign, shopper)
        if expect_sent:
            assert message.status == OutboxStatus.SENT
        else:
            # Deferred to 09:00 of the shopper's own clock, still queued.
            assert message.status == OutboxStatus.QUEUED
            local = message.not_before.astimezone(__import__("zoneinfo").ZoneInfo(zone))
            assert (local.hour, local.minute) == (9, 0)
            assert message.not_before > moment


def test_a_shopper_without_a_home_store_keeps_the_merchants_hours(merchant, monkeypatch):
    merchant.timezone = "Asia/Seoul"
    merchant.save()
    CampaignSettings.objects.create(merchant=merchant, quiet_hours_start="21:00", quiet_hours_end="09:00")
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])
    moment = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 22:00 in Seoul
    OutboxMessage.all_merchants.update(not_before=moment)
    monkeypatch.setattr(timezone, "now", lambda: moment)

    sending.outbox_send()

    assert _message(campaign, shopper).status == OutboxStatus.QUEUED
    assert mail.outbox == []


def test_sending_twice_sends_once(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    (message_id,) = _queued(campaign, [shopper])

    sending.outbox_send(message_ids=[message_id])
    sending.outbox_send(message_ids=[message_id])
    sending.outbox_send()

    assert len(mail.outbox) == 1


def test_deciding_twice_queues_once(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)

    assert len(_queued(campaign, [shopper])) == 1
    assert _queued(campaign, [shopper]) == []
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 1


class UnreachableBackend:
    """An email backend whose connection cannot be opened: nothing is handed over."""

    def __init__(self, *args, **kwargs):
        pass

    def open(self):
        raise ConnectionRefusedError("smtp down")

    def close(self):
        pass


def test_an_unreachable_channel_queues_the_message_again_and_it_goes_later(merchant, daytime):
    shopper = reachable_shopper(merchant)
    campaign = campaign_with_message(merchant)
    _queued(campaign, [shopper])

    with override_settings(EMAIL_BACKEND="tests.campaigns.engine.test_sending.UnreachableBackend"):
        report = sending.outbox_send()
    message = _message(campaign, shopper)
    assert report.requeued == 1
    assert message.status == OutboxStatus.QUEUED
    assert message.not_before > timezone.now()

    OutboxMessage.all_merchants.filter(pk=message.pk).update(not_before=timezone.now())
    sending.outbox_send()

    assert len(mail.outbox) == 1


def test_a_paused_campaign_holds_its_messages_and_a_cancelled_one_drops_them(merchant, daytime):
    shopper, other = reachable_shopper(merchant), reachable_shopper(merchant)
    paused, cancelled = campaign_with_message(merchant), campaign_with_message(merchant)
    _queued(paused, [shopper])
    _queued(cancelled, [other])
    paused.status = CampaignStatus.PAUSED
    paused.save()
    from campaigns.services.launch import campaign_cancel, campaign_resume

    campaign_cancel(campaign=cancelled, actor=None)
    sending.outbox_send()
    assert mail.outbox == []
    assert _message(cancelled, other).reason == "cancelled"

    campaign_resume(campaign=paused, actor=None)
    sending.outbox_send()
    assert len(mail.outbox) == 1
