"""Settings → Payment sources: add a source, its webhook URL, rotate its secret, map its locations, pause it,
read its event log and replay; owners and managers only; secrets never shown."""

import logging

import pytest
from django.test import Client
from django.utils import timezone

from merchants.models import Merchant
from merchants.permissions import Role
from payments.api import webhook_url
from payments.models import DeliveryOutcome, EventStatus, LocationMapping, PaymentEvent, PaymentSource, SourceSecret
from payments.services import sources
from profiles.models import Purchase
from tests.factories import StoreFactory
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import SECRETS, make_source, signed_post

pytestmark = pytest.mark.django_db

URL = "/settings/payments/"
KNOWN_SECRET = "whsec_known_Secret_1234567890abcdef"
SQUARE_LOCATION = "S8GWD5R9QB376"  # the location of the stored Square payment


def _in_dollars(merchant: Merchant) -> Merchant:
    """The stored payloads are in US dollars; a merchant recording in euros refuses them."""
    Merchant.objects.filter(pk=merchant.pk).update(currency="USD")
    merchant.refresh_from_db()
    return merchant


def _deliver(source, provider, name, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return signed_post(source, raw_payload(provider, name))


def _add(client: Client, store, **changes):
    data = {
        "provider": "stripe",
        "name": "Stripe — shops",
        "account": "acct_northwind",
        "default_store": store.pk,
        "secret": KNOWN_SECRET,
        "auth_expiry_days": 7,
        **changes,
    }
    return client.post(URL, data)


# --- adding a source --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owner_and_manager_add_a_source_and_see_the_webhook_url_and_events_to_subscribe(
    client_for, user_for_role, merchant, store, role
):
    client = client_for(user_for_role(role))

    response = _add(client, store)

    source = PaymentSource.objects.for_merchant(merchant).get()
    assert response.status_code == 302 and response.url == f"{URL}{source.pk}/"
    assert (source.provider, source.name, source.account, source.default_store) == (
        "stripe",
        "Stripe — shops",
        "acct_northwind",
        store,
    )
    assert sources.secrets_valid(source=source) == [KNOWN_SECRET]
    page = client.get(response.url)
    assert page.status_code == 200
    assert "Source added" in page.text
    assert webhook_url(source) in page.text
    for event in ("charge.succeeded", "charge.captured", "charge.refunded", "charge.failed"):
        assert f"<code>{event}</code>" in page.text
    # The greeting is shown once; the URL stays on the page.
    again = client.get(response.url)
    assert "Source added" not in again.text and webhook_url(source) in again.text


def test_the_list_shows_status_last_event_and_failed_and_unmapped_counts(
    owner_client, merchant, store, django_capture_on_commit_callbacks
):
    stripe = make_source(merchant, "stripe", store=store, account="acct_northwind")  # in euros: USD events fail
    square = make_source(merchant, "square")
    _deliver(stripe, "stripe", "charge_captured", django_capture_on_commit_callbacks)
    _deliver(square, "square", "payment_updated_completed", django_capture_on_commit_callbacks)

    response = owner_client.get(URL)

    assert response.status_code == 200
    rows = {source.name: source for source in response.context["sources"]}
    assert (rows["stripe test"].failed_count, rows["stripe test"].unmapped_count) == (1, 0)
    assert (rows["square test"].failed_count, rows["square test"].unmapped_count) == (0, 1)
    assert rows["stripe test"].last_event_at is not None
    assert "Active" in response.text
    sources.source_pause(source=square)
    assert "Paused" in owner_client.get(URL).text


def test_the_form_explains_what_to_paste_per_provider(owner_client):
    text = owner_client.get(URL).text

    assert "acct_" in text and "merchant id" in text and "program id" in text and "merchant account" in text
    for label in ("Stripe", "Square", "Fidel API", "Adyen", "Shopify", "Storeloop feed format"):
        assert f">{label}<" in text
    assert 'type="password"' in text


def test_a_source_added_before_its_secret_refuses_webhooks_until_the_secret_is_pasted(
    owner_client, store, django_capture_on_commit_callbacks
):
    # Stripe and Fidel show the secret only once the URL is registered: the source comes first.
    response = _add(owner_client, store, secret="")
    source = PaymentSource.objects.get(merchant=store.merchant)
    page = owner_client.get(f"{URL}{source.pk}/")

    assert response.status_code == 302
    assert "No signing secret yet" in page.text and "Save the secret" in page.text
    with django_capture_on_commit_callbacks(execute=True):
        refused = signed_post(source, raw_payload("stripe", "charge_captured"))
    assert refused.status_code == 400 and "no signing secret" in refused.json()["error"]["message"]

    saved = owner_client.post(f"{URL}{source.pk}/secret/", {"secret": SECRETS["stripe"], "overlap_hours": 24})

    assert saved.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        accepted = signed_post(source, raw_payload("stripe", "charge_captured"))
    assert accepted.status_code == 200
    assert "No signing secret yet" not in owner_client.get(f"{URL}{source.pk}/").text


def test_another_merchants_store_cannot_be_the_default(owner_client, store, other_store):
    response = _add(owner_client, store, default_store=other_store.pk)

    assert response.status_code == 400
    assert not PaymentSource.objects.filter(merchant=store.merchant).exists()


# --- secrets are write-only -------------------------------------------------------------------------


def test_a_secret_is_never_rendered_on_any_page_nor_logged(
    owner_client, merchant, store, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    created = _add(owner_client, store)
    source = PaymentSource.objects.for_merchant(merchant).get()
    detail = f"{URL}{source.pk}/"
    _deliver(source, "stripe", "charge_captured", django_capture_on_commit_callbacks)
    rotated_secret = "whsec_rotated_Secret_abcdef0123456789"
    failed_secret = "whsec_refused_Secret_fedcba9876543210"

    pages = [
        created,
        owner_client.get(URL),
        owner_client.get(detail),
        owner_client.get(detail, {"status": "failed"}),
        owner_client.post(URL, {"provider": "stripe", "name": "", "secret": KNOWN_SECRET, "auth_expiry_days": 7}),
        owner_client.post(f"{detail}secret/", {"secret": rotated_secret, "overlap_hours": 24}, follow=True),
        owner_client.post(f"{detail}secret/", {"secret": failed_secret, "overlap_hours": 999}),
        owner_client.post(f"{detail}edit/", {"name": "", "auth_expiry_days": 7}),
        owner_client.get(detail),
    ]

    assert [page.status_code for page in pages] == [302, 200, 200, 200, 400, 200, 400, 400, 200]
    for page in pages:
        for secret in (KNOWN_SECRET, rotated_secret, failed_secret):
            assert secret not in page.content.decode()
    for secret in (KNOWN_SECRET, rotated_secret, failed_secret):
        assert secret not in caplog.text
    assert sources.secrets_valid(source=source)[0] == rotated_secret


# --- a source's page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_rotating_the_secret_keeps_the_old_one_for_the_overlap_and_says_until_when(
    client_for, user_for_role, merchant, store, role
):
    client = client_for(user_for_role(role))
    source = make_source(merchant, "stripe", store=store)

    response = client.post(f"{URL}{source.pk}/secret/", {"secret": "whsec_new_one", "overlap_hours": 48}, follow=True)

    assert response.status_code == 200
    old = SourceSecret.objects.for_merchant(merchant).get(secret=SECRETS["stripe"])
    assert timezone.timedelta(hours=47) < old.retires_at - timezone.now() <= timezone.timedelta(hours=48)
    assert sources.secrets_valid(source=source) == ["whsec_new_one", SECRETS["stripe"]]
    assert "keeps verifying until" in response.text


def test_an_overlap_over_a_week_is_refused(owner_client, merchant, store):
    source = make_source(merchant, "stripe", store=store)

    response = owner_client.post(f"{URL}{source.pk}/secret/", {"secret": "whsec_new_one", "overlap_hours": 169})

    assert response.status_code == 400
    assert "168" in response.text
    assert sources.secrets_valid(source=source) == [SECRETS["stripe"]]


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_editing_a_source(client_for, user_for_role, merchant, store, role):
    client = client_for(user_for_role(role))
    source = make_source(merchant, "stripe")
    other = StoreFactory(merchant=merchant, name="Harbour")

    response = client.post(
        f"{URL}{source.pk}/edit/",
        {"name": "Stripe online", "account": "acct_other", "default_store": other.pk, "auth_expiry_days": 14},
        follow=True,
    )

    assert response.status_code == 200
    source.refresh_from_db()
    assert (source.name, source.account, source.default_store, source.auth_expiry_days) == (
        "Stripe online",
        "acct_other",
        other,
        14,
    )


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_pause_holds_events_and_resume_processes_them(
    client_for, user_for_role, merchant, store, role, django_capture_on_commit_callbacks
):
    client = client_for(user_for_role(role))
    _in_dollars(merchant)
    source = make_source(merchant, "stripe", store=store, account="acct_northwind")

    client.post(f"{URL}{source.pk}/pause/")
    _deliver(source, "stripe", "charge_captured", django_capture_on_commit_callbacks)
    assert PaymentEvent.objects.for_merchant(merchant).get().status == EventStatus.PAUSED
    assert "Held while paused" in client.get(f"{URL}{source.pk}/").text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{source.pk}/resume/", follow=True)

    assert "1 held event(s) are being processed" in response.text
    purchase = Purchase.objects.for_merchant(merchant).get()
    assert (purchase.amount_minor, purchase.store) == (2300, store)


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_mapping_an_unknown_location_replays_its_waiting_event_into_a_purchase(
    client_for, user_for_role, merchant, store, role, django_capture_on_commit_callbacks
):
    client = client_for(user_for_role(role))
    _in_dollars(merchant)
    source = make_source(merchant, "square")
    mapped = LocationMapping.objects.create(
        merchant=merchant, source=source, location_id="L-ALREADY", store=StoreFactory(merchant=merchant)
    )
    _deliver(source, "square", "payment_updated_completed", django_capture_on_commit_callbacks)
    event = PaymentEvent.objects.for_merchant(merchant).get()
    assert event.status == EventStatus.UNMAPPED
    assert not Purchase.objects.for_merchant(merchant).exists()

    page = client.get(f"{URL}{source.pk}/")
    rows = page.context["locations"]
    assert [(row.mapping.location_id, row.waiting, row.is_mapped) for row in rows] == [
        (SQUARE_LOCATION, 1, False),
        (mapped.location_id, 0, True),
    ]
    assert "Not mapped" in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{URL}{source.pk}/locations/", {"location_id": SQUARE_LOCATION, "store": store.pk}, follow=True
        )

    assert "1 waiting event(s) are being processed" in response.text
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    purchase = Purchase.objects.for_merchant(merchant).get()
    assert (purchase.store, purchase.amount_minor) == (store, event.purchase.amount_minor)
    assert event.purchase == purchase


def test_a_location_cannot_be_mapped_to_another_merchants_store(
    owner_client, merchant, other_store, django_capture_on_commit_callbacks
):
    source = make_source(merchant, "square")
    _deliver(source, "square", "payment_updated_completed", django_capture_on_commit_callbacks)

    response = owner_client.post(
        f"{URL}{source.pk}/locations/", {"location_id": SQUARE_LOCATION, "store": other_store.pk}, follow=True
    )

    assert "Choose one of your stores" in response.text
    assert not LocationMapping.objects.for_merchant(merchant).filter(store__isnull=False).exists()
    assert PaymentEvent.objects.for_merchant(merchant).get().status == EventStatus.UNMAPPED


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_a_failed_event_is_replayed_after_a_fix(
    client_for, user_for_role, merchant, store, role, django_capture_on_commit_callbacks
):
    client = client_for(user_for_role(role))
    source = make_source(merchant, "stripe", store=store, account="acct_northwind")
    _deliver(source, "stripe", "charge_captured", django_capture_on_commit_callbacks)  # dollars, merchant in euros
    event = PaymentEvent.objects.for_merchant(merchant).get()
    assert event.status == EventStatus.FAILED
    failed_page = client.get(f"{URL}{source.pk}/", {"status": "failed"})
    assert list(failed_page.context["page"]) == [event]
    assert "currency_mismatch" in failed_page.text
    assert list(client.get(f"{URL}{source.pk}/", {"status": "processed"}).context["page"]) == []

    _in_dollars(merchant)  # the fix
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{URL}{source.pk}/events/{event.pk}/replay/", follow=True)

    assert "is being processed again" in response.text
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert Purchase.objects.for_merchant(merchant).get().amount_minor == 2300
    # The log links the purchase; a processed event offers no replay.
    page = client.get(f"{URL}{source.pk}/")
    assert "$23.00" in page.text
    assert f"/events/{event.pk}/replay/" not in page.text


def test_replay_all_takes_every_failed_and_unmapped_event(
    owner_client, merchant, store, django_capture_on_commit_callbacks
):
    stripe = make_source(merchant, "stripe", store=store, account="acct_northwind")
    square = make_source(merchant, "square")
    _deliver(stripe, "stripe", "charge_captured", django_capture_on_commit_callbacks)
    _deliver(stripe, "stripe", "charge_succeeded_uncaptured", django_capture_on_commit_callbacks)
    _deliver(square, "square", "payment_updated_completed", django_capture_on_commit_callbacks)
    _in_dollars(merchant)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{URL}{stripe.pk}/events/replay/", follow=True)

    assert "2 failed or unmapped event(s)" in response.text
    assert set(PaymentEvent.objects.for_merchant(merchant).filter(source=stripe).values_list("status", flat=True)) == {
        EventStatus.PROCESSED
    }
    # Only this source's events.
    assert PaymentEvent.objects.for_merchant(merchant).get(source=square).status == EventStatus.UNMAPPED


def test_the_event_log_is_paginated_newest_first(owner_client, merchant, store):
    source = make_source(merchant, "stripe", store=store)
    for number in range(30):
        PaymentEvent.objects.create(
            merchant=merchant, source=source, event_id=f"evt_{number:02}", kind="ignored", data={}, detail="x"
        )

    first = owner_client.get(f"{URL}{source.pk}/")
    second = owner_client.get(f"{URL}{source.pk}/", {"page": 2})

    assert [event.event_id for event in first.context["page"]][:2] == ["evt_29", "evt_28"]
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 5
    assert "Older events" in first.text


def test_refused_deliveries_are_listed_and_a_kept_unreadable_one_is_read_again(
    owner_client, merchant, store, django_capture_on_commit_callbacks
):
    source = make_source(merchant, "stripe", store=store)
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, raw_payload("stripe", "charge_captured"), secret="whsec_someone_else")
    kept = source.deliveries.create(
        merchant=merchant,
        outcome=DeliveryOutcome.REJECTED,
        reason="data.object.amount: not an integer",
        body=raw_payload("stripe", "charge_captured").decode(),
        headers={},
    )

    page = owner_client.get(f"{URL}{source.pk}/")
    assert "data.object.amount: not an integer" in page.text
    assert page.text.count("Read again") == 1  # the signature refusal kept nothing to read
    assert "not kept" in page.text

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{URL}{source.pk}/deliveries/{kept.pk}/replay/", follow=True)

    assert "1 new event(s)" in response.text
    kept.refresh_from_db()
    assert kept.outcome == DeliveryOutcome.ACCEPTED
    assert PaymentEvent.objects.for_merchant(merchant).get(source=source).event_type == "charge.captured"


def test_a_delivery_still_unreadable_says_why(owner_client, merchant, store):
    source = make_source(merchant, "stripe", store=store)
    kept = source.deliveries.create(
        merchant=merchant, outcome=DeliveryOutcome.REJECTED, reason="unreadable", body='{"object": "x"}', headers={}
    )

    response = owner_client.post(f"{URL}{source.pk}/deliveries/{kept.pk}/replay/", follow=True)

    assert "still cannot be read" in response.text
    kept.refresh_from_db()
    assert kept.outcome == DeliveryOutcome.REJECTED


# --- who may -------------------------------------------------------------------------------------------


def _every_request(source_id: int, event_id: int, delivery_id: int) -> list[tuple[str, str, dict]]:
    base = f"{URL}{source_id}/"
    return [
        ("get", URL, {}),
        ("post", URL, {"provider": "stripe", "name": "x", "secret": "s", "auth_expiry_days": 7}),
        ("get", base, {}),
        ("post", f"{base}edit/", {"name": "Changed", "auth_expiry_days": 9}),
        ("post", f"{base}secret/", {"secret": "whsec_theirs", "overlap_hours": 0}),
        ("post", f"{base}pause/", {}),
        ("post", f"{base}resume/", {}),
        ("post", f"{base}locations/", {"location_id": SQUARE_LOCATION, "store": ""}),
        ("post", f"{base}events/replay/", {}),
        ("post", f"{base}events/{event_id}/replay/", {}),
        ("post", f"{base}deliveries/{delivery_id}/replay/", {}),
    ]


@pytest.fixture
def source_with_log(merchant, store):
    source = make_source(merchant, "stripe", store=store)
    event = PaymentEvent.objects.create(
        merchant=merchant, source=source, event_id="evt_1", kind="auth", data={}, status=EventStatus.FAILED
    )
    delivery = source.deliveries.create(merchant=merchant, outcome=DeliveryOutcome.REJECTED, body="{}", headers={})
    LocationMapping.objects.create(merchant=merchant, source=source, location_id=SQUARE_LOCATION)
    return source, event, delivery


def _unchanged(source, event):
    source.refresh_from_db()
    event.refresh_from_db()
    assert (source.name, source.is_paused, source.auth_expiry_days) == ("stripe test", False, 7)
    assert sources.secrets_valid(source=source) == [SECRETS["stripe"]]
    assert event.attempts == 0 and event.status == EventStatus.FAILED
    assert PaymentSource.all_merchants.count() == 1


@pytest.mark.parametrize("role", [Role.ANALYST, Role.STORE_STAFF])
def test_analysts_and_store_staff_get_403_on_every_page_and_action(
    client_for, user_for_role, source_with_log, role, django_capture_on_commit_callbacks
):
    source, event, delivery = source_with_log
    client = client_for(user_for_role(role))

    with django_capture_on_commit_callbacks(execute=True):
        statuses = [
            getattr(client, method)(path, data).status_code
            for method, path, data in _every_request(source.pk, event.pk, delivery.pk)
        ]

    assert statuses == [403] * len(statuses)
    _unchanged(source, event)
    assert 'href="/settings/payments/"' not in client.get("/settings/stores/").text


def test_another_merchants_source_is_a_404_everywhere(
    outsider_client, source_with_log, django_capture_on_commit_callbacks
):
    source, event, delivery = source_with_log

    with django_capture_on_commit_callbacks(execute=True):
        statuses = {
            path: getattr(outsider_client, method)(path, data).status_code
            for method, path, data in _every_request(source.pk, event.pk, delivery.pk)[2:]
        }

    assert set(statuses.values()) == {404}, statuses
    _unchanged(source, event)
    assert "stripe test" not in outsider_client.get(URL).text


def test_an_event_or_delivery_of_another_source_is_a_404(owner_client, merchant, store, source_with_log):
    source, event, delivery = source_with_log
    mine = make_source(merchant, "square")

    assert owner_client.post(f"{URL}{mine.pk}/events/{event.pk}/replay/").status_code == 404
    assert owner_client.post(f"{URL}{mine.pk}/deliveries/{delivery.pk}/replay/").status_code == 404
    assert owner_client.post(f"{URL}{mine.pk}/locations/", {"location_id": SQUARE_LOCATION}).status_code == 404


def test_every_post_needs_its_csrf_token(owner, source_with_log):
    source, event, delivery = source_with_log
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)

    statuses = [
        client.post(path, data).status_code
        for method, path, data in _every_request(source.pk, event.pk, delivery.pk)
        if method == "post"
    ]

    assert statuses == [403] * len(statuses)
    _unchanged(source, event)
    page = client.get(f"{URL}{source.pk}/").text
    assert page.count('name="csrfmiddlewaretoken"') >= 7


def test_settings_tabs_link_the_page_for_owners_and_managers(owner_client, client_for, manager):
    assert 'href="/settings/payments/"' in owner_client.get("/settings/stores/").text
    assert 'href="/settings/payments/"' in client_for(manager).get("/settings/stores/").text


def test_the_pages_cost_the_same_queries_however_many_sources_and_events(owner_client, merchant, store):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries(path):
        with CaptureQueriesContext(connection) as captured:
            assert owner_client.get(path).status_code == 200
        return len(captured)

    first = make_source(merchant, "stripe", store=store)
    PaymentEvent.objects.create(merchant=merchant, source=first, event_id="evt_0", kind="auth", data={})
    list_cost, page_cost = queries(URL), queries(f"{URL}{first.pk}/")
    for number in range(1, 6):
        make_source(merchant, "square")
        PaymentEvent.objects.create(
            merchant=merchant, source=first, event_id=f"evt_{number}", kind="auth", data={}, status=EventStatus.FAILED
        )

    assert queries(URL) == list_cost
    assert queries(f"{URL}{first.pk}/") == page_cost


def test_a_manager_confirms_whose_card_an_unrecognised_payment_was(db, client_for, django_capture_on_commit_callbacks):
    from profiles.services import shoppers as shopper_services
    from tests.factories import MembershipFactory
    from tests.payments.test_provider_webhooks import deliver, merchant_in
    from tests.profiles.factories import ShopperFactory

    merchant, store = merchant_in("USD", "America/New_York")
    manager = MembershipFactory(merchant=merchant, role=Role.MANAGER).user
    source = make_source(merchant, "stripe", store=store, account="acct_1")
    shopper = ShopperFactory(merchant=merchant, first_name="Ana")
    shopper_services.card_enroll(
        merchant=merchant,
        shopper=shopper,
        card=shopper_services.CardInput(token="till-1", last_four="4242", expiry_month=8, expiry_year=2029),
        linked_via="till",
    )
    deliver(source, "charge_captured", django_capture_on_commit_callbacks)
    event = PaymentEvent.objects.get(source=source)
    client = client_for(manager)

    log = client.get(f"/settings/payments/{source.pk}/")
    page = client.get(f"/settings/payments/{source.pk}/events/{event.pk}/card/")
    assert "Whose card?" in log.content.decode()
    assert page.status_code == 200 and "Ana" in page.content.decode()

    answer = client.post(
        f"/settings/payments/{source.pk}/events/{event.pk}/card/", {"card": str(shopper.cards.get().public_id)}
    )

    assert answer.status_code == 302
    assert Purchase.objects.get(merchant=merchant).shopper == shopper
    assert "Whose card?" not in client.get(f"/settings/payments/{source.pk}/").content.decode()


def test_every_change_to_a_source_is_in_the_audit_log_without_its_secret(owner_client, store):
    from merchants.models import AuditEvent

    _add(owner_client, store)
    source = PaymentSource.objects.get(merchant=store.merchant)
    owner_client.post(f"{URL}{source.pk}/secret/", {"secret": "whsec_rotated_value", "overlap_hours": 1})
    owner_client.post(f"{URL}{source.pk}/pause/")
    owner_client.post(f"{URL}{source.pk}/resume/")

    actions = list(AuditEvent.objects.filter(merchant=store.merchant).order_by("pk").values_list("action", flat=True))
    assert actions[-4:] == [
        "payment_source.created",
        "payment_source.secret_rotated",
        "payment_source.paused",
        "payment_source.resumed",
    ]
    assert "whsec" not in str(list(AuditEvent.objects.filter(merchant=store.merchant).values_list("detail", flat=True)))


def test_a_fidel_source_on_a_plain_http_site_url_is_warned(owner_client, merchant, store, settings):
    settings.SITE_URL = "http://localhost:8000"
    source = make_source(merchant, "fidel")

    page = owner_client.get(f"{URL}{source.pk}/")

    assert "accepts only HTTPS webhook URLs" in page.text
