"""A contact some profile already verified, arriving at a signup page or the API, lands on that profile."""

import pytest
from django.core import mail

from profiles import sms
from profiles.models import ConsentEvent, ContactPoint, Shopper, ShopperStatus, SignupHold, Visit, VisitSource
from tests.profiles.factories import ContactFactory, ShopperFactory
from tests.profiles.shopper_fixtures import (  # noqa: F401 - the autouse fixture
    _fresh_limits_and_outbox,
    make_kiosk,
    make_wifi,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def known(merchant):
    """A member who confirmed a Gmail address and a mobile number."""
    shopper = ShopperFactory(merchant=merchant, first_name="Mina", last_name="")
    ContactFactory(shopper=shopper, value="minapark@gmail.com", is_verified=True)
    ContactFactory(shopper=shopper, kind="phone", value="+821023456789", is_verified=True)
    return shopper


def _wifi_post(client, path, email):
    return client.post(path, {"first_name": "Mina", "email": email, "consent_email_marketing": "on"})


def test_a_wifi_signup_with_a_verified_address_in_another_spelling_lands_on_its_profile(
    client, merchant, store, known, django_capture_on_commit_callbacks
):
    _point, path = make_wifi(merchant, store)

    with django_capture_on_commit_callbacks(execute=True):
        response = _wifi_post(client, path, "Mina.Park+wifi@googlemail.com")

    assert response.status_code == 302 and response["Location"] == "https://example.com/welcome"
    assert list(Shopper.objects.for_merchant(merchant)) == [known]
    # What it asks waits for the address to be proven (tests/profiles/test_signup_hold.py).
    assert SignupHold.objects.for_merchant(merchant).get().shopper == known
    assert not ConsentEvent.objects.for_merchant(merchant).exists()
    # No second spelling of the one mailbox is added; the confirmation link goes out as for anyone.
    assert list(ContactPoint.objects.for_merchant(merchant).filter(kind="email").values_list("value", flat=True)) == [
        "minapark@gmail.com"
    ]
    assert [message.to for message in mail.outbox] == [["minapark@gmail.com"]]


def test_a_wifi_signup_answers_alike_whether_the_address_was_known(
    client, merchant, store, known, django_capture_on_commit_callbacks
):
    _point, path = make_wifi(merchant, store)

    with django_capture_on_commit_callbacks(execute=True):
        new = _wifi_post(client, path, "someone.new@example.com")
        existing = _wifi_post(client, path, "minapark@gmail.com")

    assert (new.status_code, new["Location"]) == (existing.status_code, existing["Location"])
    assert len(mail.outbox) == 2


def test_a_kiosk_signup_with_a_verified_number_lands_on_its_profile_and_shows_the_same_page(
    client, merchant, store, known, django_capture_on_commit_callbacks
):
    _point, path = make_kiosk(merchant, store)
    form = {"first_name": "Mina", "last_name": "Park", "email": "", "phone": "+82 10 2345 6789", "sizes": "M"}

    with django_capture_on_commit_callbacks(execute=True):
        existing = client.post(path, form)
        new = client.post(path, {**form, "phone": "+82 10 9876 5432"})

    assert existing.status_code == new.status_code == 200
    # Both pages ask for the texted code: nothing tells the person at the kiosk that a profile existed.
    assert existing.context["code_form"] is not None and new.context["code_form"] is not None
    assert [message.to for message in sms.outbox] == ["+821023456789", "+821098765432"]
    assert Shopper.objects.for_merchant(merchant).count() == 2
    # Held until the code sent to the profile's own number is entered (tests/profiles/test_signup_hold.py).
    assert SignupHold.objects.for_merchant(merchant).get().shopper == known
    assert Visit.objects.for_merchant(merchant).filter(source=VisitSource.KIOSK).count() == 2


def test_an_unverified_address_on_another_profile_does_not_attract_a_signup(client, merchant, store):
    other = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=other, value="minapark@gmail.com", is_verified=False)
    _point, path = make_wifi(merchant, store)

    _wifi_post(client, path, "minapark@gmail.com")

    assert Shopper.objects.for_merchant(merchant).count() == 2


def test_a_verified_address_of_a_merged_profile_leads_to_its_survivor(client, merchant, store, known):
    merged = ShopperFactory(merchant=merchant, status=ShopperStatus.MERGED, merged_into=known)
    ContactFactory(shopper=merged, value="mina@example.com", is_verified=True)
    _point, path = make_wifi(merchant, store)

    _wifi_post(client, path, "mina@example.com")

    assert SignupHold.objects.for_merchant(merchant).get().shopper == known


def test_the_api_matches_an_unverified_email_onto_the_profile_that_verified_it(api_client, merchant, known):
    response = api_client.post(
        "/api/v1/shoppers",
        {"first_name": "Mina", "email": "mina.park@gmail.com", "email_verified": False},
        format="json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["shopper"]["id"] == str(known.public_id)
    assert response.json()["matched_by"] == "email"
