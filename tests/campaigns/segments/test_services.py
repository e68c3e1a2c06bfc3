"""Saving segments, freezing snapshots, logging exports."""

from datetime import timedelta

import pytest
from django.utils import timezone

from campaigns.models import SegmentSnapshotMember
from campaigns.models.segments import ShopperScoreRefresh
from campaigns.segments import selectors, services
from core.errors import ApplicationError, NotFoundError
from merchants.models import AuditEvent
from profiles.models import Shopper, ShopperStatus
from tests.campaigns.factories import SegmentFactory

ENGLISH = {"match": "all", "conditions": [{"field": "language", "op": "in", "value": ["en"]}]}


def test_create_checks_and_normalises_the_rules_and_leaves_an_audit_event(population, owner):
    segment = services.segment_create(
        merchant=population.merchant,
        actor=owner,
        name="  English   speakers ",
        rules={"conditions": [{"field": "points_balance", "op": "gte", "value": "10"}]},
    )
    assert segment.name == "English speakers"
    assert segment.rules == {"match": "all", "conditions": [{"field": "points_balance", "op": "gte", "value": 10}]}
    event = AuditEvent.objects.get(merchant=population.merchant, action="segments.created")
    assert event.actor == owner and event.subject == "English speakers"


def test_bad_rules_write_nothing(population):
    with pytest.raises(ApplicationError) as raised:
        services.segment_create(
            merchant=population.merchant,
            actor=None,
            name="Broken",
            rules={"conditions": [{"field": "nope", "op": "in", "value": []}]},
        )
    assert "conditions.0" in raised.value.fields
    assert not selectors.Segment.all_merchants.filter(name="Broken").exists()
    assert not AuditEvent.all_merchants.filter(action="segments.created").exists()


def test_names_are_unique_per_merchant_whatever_the_case(population):
    services.segment_create(merchant=population.merchant, actor=None, name="VIP", rules=ENGLISH)
    with pytest.raises(ApplicationError) as raised:
        services.segment_create(merchant=population.merchant, actor=None, name="vip", rules=ENGLISH)
    assert raised.value.fields == {"name": ["There is already a segment named “vip”."]}
    # another merchant may use it
    services.segment_create(merchant=population.other_merchant, actor=None, name="VIP", rules={})


def test_update_changes_only_what_changed(population, owner):
    segment = services.segment_create(merchant=population.merchant, actor=None, name="VIP", rules=ENGLISH)
    services.segment_update(segment=segment, actor=owner, name="VIP", rules=ENGLISH, description="")
    assert not AuditEvent.all_merchants.filter(action="segments.changed").exists()
    korean = {"match": "any", "conditions": [{"field": "language", "op": "in", "value": ["ko"]}]}
    services.segment_update(segment=segment, actor=owner, name="Korean", rules=korean, description="Hello")
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.rules) == ("Korean", "Hello", korean)
    assert AuditEvent.all_merchants.get(action="segments.changed").detail["name"] == "Korean"


def test_saving_refreshes_stale_scores_after_commit(population, django_capture_on_commit_callbacks):
    ShopperScoreRefresh.objects.filter(merchant=population.merchant).update(
        refreshed_at=timezone.now() - timedelta(hours=1), updated_at=timezone.now() - timedelta(hours=1)
    )
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.segment_create(merchant=population.merchant, actor=None, name="VIP", rules=ENGLISH)
    assert len(callbacks) == 1
    assert not services.scores_are_stale(merchant=population.merchant)
    # fresh scores: nothing queued
    with django_capture_on_commit_callbacks() as callbacks:
        services.segment_create(merchant=population.merchant, actor=None, name="VIP 2", rules=ENGLISH)
    assert callbacks == []


def test_a_snapshot_stays_frozen_when_shoppers_change(population, owner):
    segment = services.segment_create(merchant=population.merchant, actor=None, name="English", rules=ENGLISH)
    snapshot = services.snapshot_create(segment=segment, actor=owner)
    assert snapshot.shopper_count == 2
    assert population.names(selectors.audience_queryset(merchant=population.merchant, snapshot=snapshot)) == {
        "ann",
        "dan",
    }
    # when ben switches to English and dan to Korean
    Shopper.all_merchants.filter(pk=population.shoppers["ben"].pk).update(language="en")
    Shopper.all_merchants.filter(pk=population.shoppers["dan"].pk).update(language="ko")
    # then the segment follows and the snapshot does not
    assert population.names(selectors.audience_queryset(merchant=population.merchant, segment=segment)) == {
        "ann",
        "ben",
    }
    assert population.names(selectors.audience_queryset(merchant=population.merchant, snapshot=snapshot)) == {
        "ann",
        "dan",
    }
    # an erased member leaves the snapshot's audience (never messaged), though the frozen count stays
    Shopper.all_merchants.filter(pk=population.shoppers["dan"].pk).update(status=ShopperStatus.ERASED)
    assert population.names(selectors.audience_queryset(merchant=population.merchant, snapshot=snapshot)) == {"ann"}
    assert SegmentSnapshotMember.objects.filter(snapshot=snapshot).count() == 2
    event = AuditEvent.all_merchants.get(action="segments.snapshot_frozen")
    assert event.detail["shoppers"] == 2


def test_audience_of_another_merchants_segment_or_snapshot_is_refused(population):
    theirs = SegmentFactory(merchant=population.other_merchant, rules={"match": "all", "conditions": []})
    with pytest.raises(NotFoundError):
        selectors.audience_queryset(merchant=population.merchant, segment=theirs)
    snapshot = services.snapshot_create(segment=theirs, actor=None)
    assert snapshot.shopper_count == 1  # oz
    with pytest.raises(NotFoundError):
        selectors.audience_queryset(merchant=population.merchant, snapshot=snapshot)


def test_shopper_in_audience(population):
    segment = services.segment_create(merchant=population.merchant, actor=None, name="English", rules=ENGLISH)
    shoppers = population.shoppers
    assert selectors.shopper_in_audience(merchant=population.merchant, shopper_id=shoppers["ann"].pk, segment=segment)
    assert not selectors.shopper_in_audience(
        merchant=population.merchant, shopper_id=shoppers["ben"].pk, segment=segment
    )
    assert not selectors.shopper_in_audience(
        merchant=population.merchant, shopper_id=shoppers["oz"].pk, segment=segment
    )
    assert not selectors.shopper_in_audience(
        merchant=population.merchant, shopper_id=shoppers["eve"].pk, segment=segment
    )
    # no segment: every active shopper of the merchant
    assert selectors.shopper_in_audience(merchant=population.merchant, shopper_id=shoppers["ben"].pk)
    assert not selectors.shopper_in_audience(merchant=population.merchant, shopper_id=shoppers["oz"].pk)


def test_segment_list_counts_every_segment_in_one_query(population, django_assert_num_queries):
    services.segment_create(merchant=population.merchant, actor=None, name="English", rules=ENGLISH)
    services.segment_create(merchant=population.merchant, actor=None, name="Everyone", rules={})
    services.segment_create(
        merchant=population.merchant,
        actor=None,
        name="Lapsed",
        rules={"conditions": [{"field": "lifecycle_stage", "op": "in", "value": ["lapsed"]}]},
    )
    with django_assert_num_queries(2):
        segments = selectors.segment_list(merchant=population.merchant)
    assert [(segment.name, segment.audience) for segment in segments] == [
        ("English", 2),
        ("Everyone", 4),
        ("Lapsed", 1),
    ]
