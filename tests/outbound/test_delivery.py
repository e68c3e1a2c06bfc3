"""Deliveries to a real receiver: signed, retried, in order per shopper, never for a rolled-back change."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from merchants.models import AuditEvent
from outbound.models import Attempt, Delivery, DeliveryStatus, Endpoint, Event, EventType
from outbound.services import delivery, endpoints
from profiles.models import ConsentChannel, ConsentPurpose, ConsentSource, ContactKind
from profiles.services import identity
from profiles.services.shoppers import ConsentInput, ConsentOrigin, ContactInput, ShopperInput, consent_record
from profiles.services.shoppers import shopper_create_or_match as create

README = Path(__file__).resolve().parents[2] / "README.md"
KIOSK = ConsentOrigin(source=ConsentSource.KIOSK, reference="Kiosk 1")
LATER = timedelta(minutes=5)


def readme_verify():
    """The verification snippet exactly as README's "Webhooks to your systems" prints it."""
    section = README.read_text().split("## Webhooks to your systems", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - the project's own README
    return namespace["verify"]


def shopper_new(merchant, name="Ana", email="ana@example.com"):
    data = ShopperInput(first_name=name, contacts=[ContactInput(kind=ContactKind.EMAIL, value=email)])
    return create(merchant=merchant, data=data, origin=KIOSK).shopper


def consent(shopper, granted, origin=KIOSK):
    return consent_record(
        shopper=shopper,
        consents=[ConsentInput(channel=ConsentChannel.EMAIL, purpose=ConsentPurpose.MARKETING, is_granted=granted)],
        origin=origin,
    )


def test_a_delivery_that_fails_is_retried_and_then_succeeds(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    # given a receiver that answers 500 once, then 200
    answers = iter([500, 200])
    receiver.answer = lambda payload: next(answers)

    # when a shopper is created
    with django_capture_on_commit_callbacks(execute=True):
        shopper = shopper_new(merchant)

    # then the first attempt failed and was logged with its code, and waits for its retry
    (first,) = receiver.requests
    assert first.payload["type"] == "shopper.created"
    assert first.payload["data"]["id"] == str(shopper.public_id)
    assert first.payload["data"]["contacts"] == [{"kind": "email", "value": "ana@example.com", "is_verified": False}]
    pending = Delivery.objects.get(merchant=merchant)
    assert (pending.status, pending.attempts, pending.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
    assert pending.next_attempt_at > timezone.now()

    # when the retry comes due
    report = delivery.endpoint_drain(endpoint_id=endpoint_with_secret.endpoint.pk, now=timezone.now() + LATER)

    # then the same event went again, and is now delivered, both attempts logged
    assert report.succeeded == 1
    second = receiver.requests[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    done = Delivery.objects.get(merchant=merchant)
    assert (done.status, done.attempts, done.last_status_code) == (DeliveryStatus.SUCCEEDED, 2, 200)
    codes = list(
        Attempt.objects.filter(merchant=merchant).order_by("attempted_at").values_list("status_code", flat=True)
    )
    assert codes == [500, 200]


def test_a_failing_shopper_holds_only_its_own_later_deliveries(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    # given two shoppers, and a receiver that refuses Ana's first consent change once
    with django_capture_on_commit_callbacks(execute=True):
        ana, bo = shopper_new(merchant, "Ana", "ana@example.com"), shopper_new(merchant, "Bo", "bo@example.com")
    receiver.requests.clear()
    refused = []

    def answer(payload):
        data = payload["data"]
        if data["shopper_id"] == str(ana.public_id) and data["granted"] and not refused:
            refused.append(payload)
            return 503
        return 200

    receiver.answer = answer

    # when each grants and then withdraws consent, in one transaction
    with django_capture_on_commit_callbacks(execute=True):
        consent(ana, True)
        consent(bo, True)
        consent(ana, False)
        consent(bo, False)

    # then Bo's went out in order; Ana's withdrawal waits behind her refused grant
    def sent(shopper, status=200):
        return [
            p["data"]["granted"] for p in receiver.payloads(status) if p["data"]["shopper_id"] == str(shopper.public_id)
        ]

    assert sent(bo) == [True, False]
    assert sent(ana, 503) == [True]
    assert sent(ana) == []

    # when the retry comes due, Ana's go out in the order they were made
    delivery.endpoint_drain(endpoint_id=endpoint_with_secret.endpoint.pk, now=timezone.now() + LATER)
    assert sent(ana) == [True, False]
    assert sent(bo) == [True, False]


def test_the_readme_snippet_verifies_a_real_delivery(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    verify = readme_verify()
    with django_capture_on_commit_callbacks(execute=True):
        shopper_new(merchant)

    (received,) = receiver.requests
    assert verify(endpoint_with_secret.secret, received.headers, received.body)
    assert not verify(endpoint_with_secret.secret, received.headers, received.body.replace(b"Ana", b"Eve"))
    other = endpoints.endpoint_create(merchant=merchant, actor=None, url=receiver.url, events=["tier.changed"])
    assert not verify(other.secret, received.headers, received.body)


def test_after_a_rotation_both_secrets_verify_until_the_overlap_ends(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    verify = readme_verify()
    rotated = endpoints.secret_rotate(endpoint=endpoint_with_secret.endpoint, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        shopper_new(merchant)

    (received,) = receiver.requests
    assert len(received.headers["webhook-signature"].split()) == 2
    assert verify(rotated.secret, received.headers, received.body)
    assert verify(endpoint_with_secret.secret, received.headers, received.body)
    assert rotated.secret != endpoint_with_secret.secret
    assert "whsec" not in str(list(AuditEvent.objects.filter(merchant=merchant).values_list("detail", flat=True)))


def test_a_rolled_back_change_leaves_nothing_to_send(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        shopper_new(merchant)
        raise RuntimeError("the change fails after the shopper was written")

    assert receiver.requests == []
    assert not Event.objects.filter(merchant=merchant).exists()


def test_a_change_made_through_an_endpoints_own_key_is_not_echoed_to_it(
    merchant, receiver, api_key_pair, api_client, django_capture_on_commit_callbacks
):
    # given the CRM's endpoint linked to the CRM's key, and another system's endpoint
    crm_key, _secret = api_key_pair
    endpoints.endpoint_create(
        merchant=merchant, actor=None, url=receiver.url + "/crm", events=["consent.changed"], api_key=crm_key
    )
    endpoints.endpoint_create(merchant=merchant, actor=None, url=receiver.url + "/pos", events=["consent.changed"])
    shopper = shopper_new(merchant)

    # when the CRM sends a consent withdrawal in through the API with its key
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            f"/api/v1/shoppers/{shopper.public_id}/consents",
            {"consents": [{"channel": "email", "purpose": "marketing", "granted": False}]},
            format="json",
        )

    # then only the other system hears of it
    assert response.status_code == 201
    assert [(r.payload["data"]["granted"], r.headers.get("host")) for r in receiver.requests] == [
        (False, receiver.url.split("/")[2])
    ]
    assert Delivery.objects.filter(merchant=merchant, endpoint__api_key=crm_key).count() == 0


def test_an_erasure_is_delivered_without_personal_data_and_cancels_what_was_waiting(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    # given a shopper whose creation could not be delivered yet
    receiver.answer = lambda payload: 500 if payload["type"] == "shopper.created" else 200
    with django_capture_on_commit_callbacks(execute=True):
        shopper = shopper_new(merchant, "Ana", "ana.erased@example.com")

    # when the shopper is erased
    with django_capture_on_commit_callbacks(execute=True):
        identity.shopper_erase(merchant=merchant, shopper=shopper, actor=None, reason="Asked to be forgotten")
    delivery.endpoint_drain(endpoint_id=endpoint_with_secret.endpoint.pk, now=timezone.now() + LATER)

    # then the erasure went out with the shopper's id alone, and nothing about them is sent or kept
    erased = [r for r in receiver.requests if r.payload["type"] == "shopper.erased"]
    assert [r.payload["data"] for r in erased] == [{"shopper_id": str(shopper.public_id)}]
    assert [r.payload["type"] for r in receiver.requests] == ["shopper.created", "shopper.erased"]
    assert b"ana.erased" not in erased[0].body
    created = Delivery.objects.get(merchant=merchant, event__type="shopper.created")
    assert created.status == DeliveryStatus.CANCELLED
    assert "ana.erased" not in str(list(Event.objects.filter(merchant=merchant).values_list("data", flat=True)))


def test_merges_are_delivered(merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        survivor, merged = (
            shopper_new(merchant, "Ana", "a1@example.com"),
            shopper_new(merchant, "Ana", "a2@example.com"),
        )
    with django_capture_on_commit_callbacks(execute=True):
        event = identity.shopper_merge(
            merchant=merchant, survivor=survivor, merged=merged, actor=None, reason="Same person"
        )
        identity.merge_undo(merchant=merchant, merge_event=event, actor=None)

    kinds = [
        (p["type"], p["data"].get("survivor_id")) for p in receiver.payloads() if p["type"].startswith("shopper.merge")
    ]
    assert kinds == [("shopper.merged", str(survivor.public_id)), ("shopper.merge_undone", str(survivor.public_id))]


def test_an_endpoint_failing_for_a_day_is_paused_and_its_deliveries_fail(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    receiver.answer = lambda payload: 500
    with django_capture_on_commit_callbacks(execute=True):
        shopper_new(merchant)
    endpoint_id = endpoint_with_secret.endpoint.pk

    delivery.endpoint_drain(endpoint_id=endpoint_id, now=timezone.now() + timedelta(hours=25))

    endpoint = Endpoint.objects.get(merchant=merchant, pk=endpoint_id)
    assert not endpoint.is_active
    assert "failed for a day" in endpoint.paused_reason
    assert Delivery.objects.get(merchant=merchant).status == DeliveryStatus.FAILED
    assert AuditEvent.objects.filter(merchant=merchant, action="webhook.endpoint_paused").exists()


def test_a_paused_endpoint_catches_up_in_order_on_resume(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    endpoint = endpoints.endpoint_pause(endpoint=endpoint_with_secret.endpoint, actor=None)
    with django_capture_on_commit_callbacks(execute=True):
        shopper = shopper_new(merchant)
        consent(shopper, True)
    assert receiver.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        endpoints.endpoint_resume(endpoint=endpoint, actor=None)

    assert [p["type"] for p in receiver.payloads()] == ["shopper.created", "consent.changed"]


def test_only_subscribed_events_are_queued(merchant, receiver, django_capture_on_commit_callbacks):
    endpoints.endpoint_create(merchant=merchant, actor=None, url=receiver.url, events=[EventType.CONSENT_CHANGED])
    with django_capture_on_commit_callbacks(execute=True):
        shopper = shopper_new(merchant)
        consent(shopper, True)
    assert [p["type"] for p in receiver.payloads()] == ["consent.changed"]


def test_points_adjusted_by_staff_are_delivered(
    merchant, owner, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    from loyalty.models import Account
    from loyalty.services import accounts, ledger
    from tests.loyalty.factories import ProgramFactory

    # given a shopper with a loyalty account
    program = ProgramFactory(merchant=merchant)
    with django_capture_on_commit_callbacks(execute=True):
        shopper = shopper_new(merchant)
    with transaction.atomic():
        account_id, _tier = accounts.account_upsert(
            program=program, shopper_id=shopper.pk, joined_via="api", moment=timezone.now()
        )
    account = Account.objects.get(merchant=merchant, pk=account_id)

    # when staff add points
    with django_capture_on_commit_callbacks(execute=True):
        ledger.points_adjust(merchant=merchant, account=account, points=40, reason="Goodwill", actor=owner)

    # then the endpoint hears the change and the new balance
    (points,) = [p["data"] for p in receiver.payloads() if p["type"] == "points.changed"]
    assert points == {"shopper_id": str(shopper.public_id), "delta": 40, "reason": "adjustment", "balance": 40}


def test_a_merged_profiles_waiting_deliveries_continue_in_order_with_the_survivors(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    # given two profiles of one person, and the merged one's consent grant refused once by the receiver
    with django_capture_on_commit_callbacks(execute=True):
        survivor = shopper_new(merchant, "Ana", "ana.one@example.com")
        merged = shopper_new(merchant, "Ana", "ana.two@example.com")
    refused = []

    def answer(payload):
        if payload["type"] == "consent.changed" and not refused:
            refused.append(payload)
            return 503
        return 200

    receiver.answer = answer
    with django_capture_on_commit_callbacks(execute=True):
        consent(merged, True)
    assert len(refused) == 1

    # when staff merge them, and the survivor then withdraws
    with django_capture_on_commit_callbacks(execute=True):
        merge = identity.shopper_merge(
            merchant=merchant, survivor=survivor, merged=merged, actor=None, reason="Same person"
        )
    with django_capture_on_commit_callbacks(execute=True):
        consent(survivor, False)

    # then nothing of the survivor's overtakes the merged profile's waiting grant
    def delivered():
        return [
            (p["type"], p["data"].get("granted"))
            for p in receiver.payloads(200)
            if p["type"] in ("consent.changed", "shopper.merged")
        ]

    assert delivered() == []

    # when the retry comes due, they go out in the order they happened
    delivery.endpoint_drain(endpoint_id=endpoint_with_secret.endpoint.pk, now=timezone.now() + LATER)
    assert delivered() == [("consent.changed", True), ("shopper.merged", None), ("consent.changed", False)]

    # and an undo leaves what was delivered as it went
    history = dict(
        Delivery.objects.filter(merchant=merchant).values_list("event__public_id", "shopper_key").order_by("pk")
    )
    with django_capture_on_commit_callbacks(execute=True):
        identity.merge_undo(merchant=merchant, merge_event=merge, actor=None)
    after = Delivery.objects.filter(merchant=merchant, event__public_id__in=history)
    assert dict(after.values_list("event__public_id", "shopper_key")) == history
    assert receiver.payloads()[-1]["type"] == "shopper.merge_undone"


def test_erasing_a_survivor_cancels_the_merged_profiles_waiting_deliveries(
    merchant, receiver, endpoint_with_secret, django_capture_on_commit_callbacks
):
    # given a merged profile whose creation could not be delivered yet
    with django_capture_on_commit_callbacks(execute=True):
        survivor = shopper_new(merchant, "Ana", "ana.one@example.com")
    receiver.answer = lambda payload: 500 if payload["type"] == "shopper.created" else 200
    with django_capture_on_commit_callbacks(execute=True):
        merged = shopper_new(merchant, "Ana", "ana.two@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        identity.shopper_merge(merchant=merchant, survivor=survivor, merged=merged, actor=None, reason="Same person")

    # when the survivor is erased
    with django_capture_on_commit_callbacks(execute=True):
        identity.shopper_erase(merchant=merchant, shopper=survivor, actor=None, reason="Asked to be forgotten")
    delivery.endpoint_drain(endpoint_id=endpoint_with_secret.endpoint.pk, now=timezone.now() + LATER)

    # then the merged profile's creation, with its address, is never sent
    assert b"ana.two" not in b"".join(r.body for r in receiver.requests if r.status == 200)
    waiting = Delivery.objects.filter(merchant=merchant, event__type="shopper.created")
    assert waiting.get(event__data__id=str(merged.public_id)).status == DeliveryStatus.CANCELLED
