"""Triggered campaigns: each trigger fires for the right shoppers, once per occasion, and not for others."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.models import Assignment, CampaignKind, OutboxMessage, Trigger
from campaigns.services import launch, triggers
from profiles.models import Shopper, Visit
from tests.campaigns.engine.helpers import campaign_with_message, launched, reachable_shopper, record_purchase
from tests.factories import StoreFactory
from tests.loyalty.factories import ProgramFactory

pytestmark = pytest.mark.django_db


def realtime(merchant, trigger, **fields):
    fields.setdefault("purpose", "feedback" if trigger == Trigger.FEEDBACK_REQUEST else "marketing")
    return launched(campaign_with_message(merchant, kind=CampaignKind.REALTIME, trigger=trigger, **fields))


def buy(merchant, shopper, capture, **kwargs):
    """Record a purchase through ingest and run what its commit queues (the receiver's task, eager here)."""
    with capture(execute=True):
        return record_purchase(merchant, shopper, **kwargs)


def messaged(campaign):
    return set(OutboxMessage.objects.filter(campaign=campaign).values_list("shopper_id", flat=True))


def test_thank_you_is_sent_seconds_after_a_purchase(merchant, store, daytime, django_capture_on_commit_callbacks):
    shopper = reachable_shopper(merchant)
    campaign = realtime(merchant, Trigger.THANK_YOU)

    purchase = buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)

    message = OutboxMessage.objects.get(campaign=campaign)
    assert message.dedupe_key == f"purchase:{purchase.pk}"
    assert message.status == "sent"
    assert len(mail.outbox) == 1


def test_an_imported_old_purchase_queues_nothing(merchant, store, daytime, django_capture_on_commit_callbacks):
    shopper = reachable_shopper(merchant)
    realtime(merchant, Trigger.THANK_YOU)

    with django_capture_on_commit_callbacks() as queued:
        record_purchase(merchant, shopper, store=store, at=timezone.now() - timedelta(days=3))

    assert queued == []
    assert not OutboxMessage.all_merchants.exists()


def test_the_same_purchase_evaluated_twice_messages_once(merchant, store, daytime, django_capture_on_commit_callbacks):
    shopper = reachable_shopper(merchant)
    campaign = realtime(merchant, Trigger.THANK_YOU)
    purchase = buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)

    assert triggers.purchase_triggers_evaluate(purchase_id=purchase.pk) == []
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 1


def test_feedback_request_needs_feedback_consent_and_links_the_survey(
    merchant, store, daytime, django_capture_on_commit_callbacks
):
    willing = reachable_shopper(merchant, purposes=("feedback",))
    marketing_only = reachable_shopper(merchant, purposes=("marketing",))
    campaign = realtime(merchant, Trigger.FEEDBACK_REQUEST)
    campaign.variants.get().templates.filter(language="en").update(body="Rate us: {{ feedback_url }}")

    buy(merchant, willing, django_capture_on_commit_callbacks, store=store)
    buy(merchant, marketing_only, django_capture_on_commit_callbacks, store=store)

    assert messaged(campaign) == {willing.pk}
    assert "/s/c/feedback/" in mail.outbox[0].body or "/s/c/" in mail.outbox[0].body


def test_spend_over_fires_only_above_the_amount(merchant, store, daytime, django_capture_on_commit_callbacks):
    big, small = reachable_shopper(merchant), reachable_shopper(merchant)
    campaign = realtime(merchant, Trigger.SPEND_OVER, trigger_params={"amount_minor": 10_000})

    buy(merchant, big, django_capture_on_commit_callbacks, store=store, amount_minor=10_000)
    buy(merchant, small, django_capture_on_commit_callbacks, store=store, amount_minor=9_999)

    assert messaged(campaign) == {big.pk}


def test_first_in_store_purchase_of_an_online_only_shopper(
    merchant, store, daytime, django_capture_on_commit_callbacks
):
    online_only = reachable_shopper(merchant)
    store_regular = reachable_shopper(merchant)
    newcomer = reachable_shopper(merchant)
    earlier = timezone.now() - timedelta(days=30)
    record_purchase(merchant, online_only, channel="online", at=earlier)
    record_purchase(merchant, store_regular, channel="online", at=earlier)
    record_purchase(merchant, store_regular, channel="in_store", store=store, at=earlier)
    campaign = realtime(merchant, Trigger.FIRST_IN_STORE)

    buy(merchant, online_only, django_capture_on_commit_callbacks, store=store)
    buy(merchant, store_regular, django_capture_on_commit_callbacks, store=store)
    buy(merchant, newcomer, django_capture_on_commit_callbacks, store=store)  # never bought online
    buy(merchant, online_only, django_capture_on_commit_callbacks, store=store)  # second in-store purchase

    assert messaged(campaign) == {online_only.pk}
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 1


def test_first_online_purchase_of_a_store_only_shopper(merchant, store, daytime, django_capture_on_commit_callbacks):
    store_only = reachable_shopper(merchant)
    online_shopper = reachable_shopper(merchant)
    record_purchase(merchant, store_only, channel="in_store", store=store, at=timezone.now() - timedelta(days=9))
    campaign = realtime(merchant, Trigger.FIRST_ONLINE)

    buy(merchant, store_only, django_capture_on_commit_callbacks, channel="online")
    buy(merchant, online_shopper, django_capture_on_commit_callbacks, channel="online")

    assert messaged(campaign) == {store_only.pk}


def test_another_merchants_purchase_never_triggers_this_merchants_campaign(
    merchant, other_merchant, store, other_store, daytime, django_capture_on_commit_callbacks
):
    mine = reachable_shopper(merchant)
    theirs = reachable_shopper(other_merchant)
    campaign = realtime(merchant, Trigger.THANK_YOU)

    buy(other_merchant, theirs, django_capture_on_commit_callbacks, store=other_store)

    assert messaged(campaign) == set()
    buy(merchant, mine, django_capture_on_commit_callbacks, store=store)
    assert messaged(campaign) == {mine.pk}


def test_a_paused_campaign_does_not_fire_and_resumes_firing(
    merchant, store, daytime, django_capture_on_commit_callbacks
):
    shopper = reachable_shopper(merchant)
    campaign = realtime(merchant, Trigger.THANK_YOU)
    launch.campaign_pause(campaign=campaign, actor=None)

    buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)
    assert messaged(campaign) == set()

    launch.campaign_resume(campaign=campaign, actor=None)
    buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)
    assert messaged(campaign) == {shopper.pk}


def test_a_merchant_without_real_time_campaigns_pays_no_query_per_purchase(merchant, store):
    shopper = reachable_shopper(merchant)
    record_purchase(merchant, shopper, store=store)  # the first purchase caches the answer

    from campaigns.receivers import on_purchase_recorded

    purchase = record_purchase(merchant, shopper, store=store)
    with CaptureQueriesContext(connection) as queries:
        on_purchase_recorded(None, merchant=merchant, purchase=purchase)
    assert len(queries) == 0


def test_launching_a_real_time_campaign_is_seen_by_the_next_purchase(
    merchant, store, daytime, django_capture_on_commit_callbacks
):
    shopper = reachable_shopper(merchant)
    buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)  # caches "none"
    campaign = realtime(merchant, Trigger.THANK_YOU)

    buy(merchant, shopper, django_capture_on_commit_callbacks, store=store)

    assert messaged(campaign) == {shopper.pk}


# Lifecycle


def lifecycle(merchant, trigger, **params):
    return launched(
        campaign_with_message(merchant, kind=CampaignKind.LIFECYCLE, trigger=trigger, trigger_params=params)
    )


def test_win_back_after_the_days_lapsed_once_per_lapse(merchant, store, daytime):
    lapsed = reachable_shopper(merchant)
    recent = reachable_shopper(merchant)
    record_purchase(merchant, lapsed, store=store, at=timezone.now() - timedelta(days=100))
    record_purchase(merchant, recent, store=store, at=timezone.now() - timedelta(days=10))
    campaign = lifecycle(merchant, Trigger.WIN_BACK, days_lapsed=90)

    triggers.lifecycle_scan()
    triggers.lifecycle_scan()

    assert messaged(campaign) == {lapsed.pk}
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 1


def test_birthday_in_the_merchants_timezone(merchant, daytime):
    merchant.timezone = "Asia/Seoul"
    merchant.save()
    moment = datetime(2026, 3, 14, 16, 0, tzinfo=UTC)  # already 15 March in Seoul
    today = reachable_shopper(merchant, birthday=date(1990, 3, 15))
    utc_today = reachable_shopper(merchant, birthday=date(1990, 3, 14))
    campaign = lifecycle(merchant, Trigger.BIRTHDAY)

    triggers.lifecycle_scan(now=moment)
    triggers.lifecycle_scan(now=moment + timedelta(hours=1))

    assert messaged(campaign) == {today.pk}
    assert OutboxMessage.objects.get(campaign=campaign).dedupe_key == "birthday:2026"
    assert utc_today.pk not in messaged(campaign)


def test_a_29_february_birthday_is_kept_on_the_28th(merchant, daytime):
    leapling = reachable_shopper(merchant, birthday=date(2000, 2, 29))
    campaign = lifecycle(merchant, Trigger.BIRTHDAY)

    triggers.lifecycle_scan(now=datetime(2027, 2, 28, 12, 0, tzinfo=UTC))

    assert messaged(campaign) == {leapling.pk}


def test_join_anniversary(merchant, daytime):
    moment = timezone.now()
    veteran = reachable_shopper(merchant)
    newcomer = reachable_shopper(merchant)
    Shopper.all_merchants.filter(pk=veteran.pk).update(created_at=moment.replace(year=moment.year - 2))
    campaign = lifecycle(merchant, Trigger.JOIN_ANNIVERSARY)

    triggers.lifecycle_scan(now=moment)

    assert messaged(campaign) == {veteran.pk}
    assert newcomer.pk not in messaged(campaign)


def test_points_about_to_expire(merchant, store, daytime):
    program = ProgramFactory(merchant=merchant, expiry_policy="days_after_earning", expiry_days=30)
    expiring = reachable_shopper(merchant)
    fresh = reachable_shopper(merchant)
    record_purchase(merchant, expiring, store=store, amount_minor=5000, at=timezone.now() - timedelta(days=25))
    record_purchase(merchant, fresh, store=store, amount_minor=5000, at=timezone.now())
    assert program.pk
    campaign = lifecycle(merchant, Trigger.POINTS_EXPIRING, days_before=7)

    triggers.lifecycle_scan()

    assert messaged(campaign) == {expiring.pk}


# Visits


def test_a_visit_at_the_store_messages_once_per_cooldown(merchant, store, daytime):
    other_store = StoreFactory(merchant=merchant)
    visitor = reachable_shopper(merchant)
    elsewhere = reachable_shopper(merchant)
    campaign = launched(
        campaign_with_message(
            merchant,
            kind=CampaignKind.LOCATION,
            trigger=Trigger.VISIT,
            store=store,
            trigger_params={"cooldown_hours": 24},
        )
    )
    now = timezone.now()
    Visit.objects.create(merchant=merchant, shopper=visitor, store=store, occurred_at=now, source="wifi")
    Visit.objects.create(merchant=merchant, shopper=elsewhere, store=other_store, occurred_at=now, source="wifi")
    Visit.objects.create(merchant=merchant, shopper=None, store=store, occurred_at=now, source="wifi")

    assert triggers.visits_scan().visits == 3
    Visit.objects.create(merchant=merchant, shopper=visitor, store=store, occurred_at=now, source="geofence")
    triggers.visits_scan()
    triggers.visits_scan()

    assert messaged(campaign) == {visitor.pk}
    assert Assignment.objects.filter(campaign=campaign).count() == 1

    a_day_later = now + timedelta(hours=25)
    Visit.objects.create(merchant=merchant, shopper=visitor, store=store, occurred_at=a_day_later, source="wifi")
    triggers.visits_scan(now=a_day_later)
    assert OutboxMessage.objects.filter(campaign=campaign).count() == 2


def test_the_first_scan_skips_visits_too_old_to_message_about(merchant, store, daytime):
    campaign = launched(campaign_with_message(merchant, kind=CampaignKind.LOCATION, trigger=Trigger.VISIT))
    shopper = reachable_shopper(merchant)
    Visit.objects.create(
        merchant=merchant, shopper=shopper, store=store, occurred_at=timezone.now() - timedelta(days=3), source="wifi"
    )

    assert triggers.visits_scan().visits == 0
    assert messaged(campaign) == set()


def test_another_merchants_visits_start_nothing_here(merchant, other_merchant, store, other_store, daytime):
    campaign = launched(campaign_with_message(merchant, kind=CampaignKind.LOCATION, trigger=Trigger.VISIT))
    theirs = reachable_shopper(other_merchant)
    Visit.objects.create(
        merchant=other_merchant, shopper=theirs, store=other_store, occurred_at=timezone.now(), source="wifi"
    )

    triggers.visits_scan()

    assert messaged(campaign) == set()
