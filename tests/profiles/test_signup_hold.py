"""A signup that reaches a profile through a contact it has not proven holds what it asks until it does.

Anyone can type a member's address or number at a kiosk or on the store Wi-Fi. The signup lands on the member's
profile (and the page does not tell), but its consents, card, names and preferences wait for this signup's email
link or phone code; withdrawals do not wait.
"""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from campaigns.services.guards import shopper_facts
from profiles import sms
from profiles.models import Card, ConsentEvent, ContactPoint, SignupHold, Visit
from profiles.services import signup
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record
from tests.profiles.factories import ContactFactory, ShopperFactory
from tests.profiles.shopper_fixtures import (  # noqa: F401 - the autouse fixture
    _fresh_limits_and_outbox,
    code_from_sms,
    link_path,
    make_kiosk,
    make_wifi,
)

pytestmark = pytest.mark.django_db

OWNER_PHONE = "+821023456789"


@pytest.fixture
def member(merchant):
    """A member who confirmed her address and number, and agreed to nothing yet."""
    shopper = ShopperFactory(merchant=merchant, first_name="Mina", last_name="")
    ContactFactory(shopper=shopper, value="minapark@gmail.com", is_verified=True)
    ContactFactory(shopper=shopper, kind="phone", value=OWNER_PHONE, is_verified=True)
    return shopper


def _engine_would_email(shopper) -> bool:
    """What the sender reads at send time: the latest consent and a confirmed address."""
    facts = shopper_facts(
        shopper_ids=[shopper.pk],
        channel="email",
        purpose="marketing",
        since=timezone.now() - timedelta(days=1),
        excluding=[],
    )[shopper.pk]
    return facts.is_consenting and facts.contact is not None


def _reader_kiosk(merchant, store):
    return make_kiosk(
        merchant, store, has_card_reader=True, card_reader_provider="stripe", card_reader_account="acct_northwind"
    )


def test_a_consent_ticked_with_a_members_address_waits_for_her_link(
    client, merchant, store, member, django_capture_on_commit_callbacks
):
    # given the store Wi-Fi
    _point, path = make_wifi(merchant, store)

    # when someone signs up there with the member's address and ticks email offers
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"first_name": "Eve", "email": "minapark@gmail.com", "consent_email_marketing": "on"})

    # then nothing reaches her profile: no consent the engine would message on, no visit, no name
    assert not ConsentEvent.objects.for_merchant(merchant).exists()
    assert not _engine_would_email(member)
    assert Visit.objects.for_merchant(merchant).get().shopper is None
    # and her mailbox gets the link, whose page says what confirming would record
    (message,) = mail.outbox
    assert message.to == ["minapark@gmail.com"]
    confirm = link_path(message.body, "confirm")
    page = client.get(confirm).text
    assert "Was it you?" in page
    assert "Email me offers and news from Northwind." in page
    assert "본인이신가요?" in client.get(confirm.split("?")[0], {"lang": "ko"}).text

    # when she follows it
    response = client.post(confirm)

    # then the consent takes effect, with the time, place and wording it was given with, and when it took effect
    assert response.status_code == 200
    hold = SignupHold.objects.for_merchant(merchant).get()
    event = ConsentEvent.objects.for_merchant(merchant).get(shopper=member)
    assert (event.channel, event.purpose, event.is_granted) == ("email", "marketing", True)
    assert event.occurred_at == hold.requested_at
    assert event.took_effect_at == hold.applied_at and event.took_effect_at > event.occurred_at
    assert (event.source, event.source_ref) == ("page", hold.source_ref)
    assert event.wording_version.startswith("2026-11")
    assert _engine_would_email(member)
    assert Visit.objects.for_merchant(merchant).get().shopper == member
    # and following the link again changes nothing
    client.post(confirm)
    assert ConsentEvent.objects.for_merchant(merchant).count() == 1


def test_a_card_tapped_with_a_members_number_is_linked_only_once_her_code_is_entered(
    client, merchant, store, member, django_capture_on_commit_callbacks
):
    # given a kiosk with a card reader
    _point, path = _reader_kiosk(merchant, store)
    form = {
        "first_name": "Mina",
        "last_name": "Park",
        "email": "",
        "phone": "+82 10 2345 6789",
        "sizes": "M",
        "consent_sms_marketing": "on",
        "link_card": "on",
        "card_token": "Xt5EWLLDS7FJjR1c",
        "card_last_four": "4242",
        "card_scheme": "visa",
    }

    # when someone signs up with the member's number and taps a card
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, form)

    # then the card is not linked, and her profile is as it was
    assert response.status_code == 200
    assert not Card.objects.for_merchant(merchant).exists()
    member.refresh_from_db()
    assert member.last_name == ""
    assert not ConsentEvent.objects.for_merchant(merchant).exists()
    assert [message.to for message in sms.outbox] == [OWNER_PHONE]

    # when the code texted to her number is entered at the kiosk
    ticket = response.context["ticket"]
    confirmed = client.post(f"{path}code/", {"ticket": ticket, "code": code_from_sms()})

    # then it all takes effect on her profile
    assert confirmed.status_code == 200
    card = Card.objects.for_merchant(merchant).get()
    assert (card.shopper, card.last_four) == (member, "4242")
    member.refresh_from_db()
    assert (member.last_name, member.preferences.sizes) == ("Park", ["M"])
    assert ConsentEvent.objects.for_merchant(merchant).get().shopper == member


def test_the_kiosk_pages_read_the_same_for_a_new_number_and_a_members(
    client, merchant, store, member, django_capture_on_commit_callbacks
):
    _point, path = make_kiosk(merchant, store)
    form = {"first_name": "Eve", "last_name": "", "email": "", "consent_sms_marketing": "on"}

    def normalised(response, phone):
        text = response.content.decode()
        text = re.sub(r'name="(csrfmiddlewaretoken|ticket)" value="[^"]*"', r'name="\1"', text)
        return text.replace(phone, "PHONE")

    pages = {}
    for phone in (OWNER_PHONE, "+821098765432"):
        with django_capture_on_commit_callbacks(execute=True):
            welcome = client.post(path, {**form, "phone": phone})
        wrong = client.post(f"{path}code/", {"ticket": welcome.context["ticket"], "code": "000000"})
        pages[phone] = (normalised(welcome, phone), normalised(wrong, phone))

    # The welcome page and the page after a wrong code, for a member's number and a new one, read alike.
    member, new = pages[OWNER_PHONE], pages["+821098765432"]
    assert member == new
    assert "Welcome, Eve!" in member[1] and "Mina" not in member[1]


def test_proving_ones_own_number_does_not_open_a_profile_reached_by_its_address(
    client, merchant, store, member, django_capture_on_commit_callbacks
):
    # given someone who typed the member's address and their own number at a kiosk
    _point, path = make_kiosk(merchant, store)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            path,
            {"first_name": "Eve", "last_name": "", "email": "minapark@gmail.com", "phone": "+821098765432"}
            | {"consent_email_marketing": "on"},
        )

    # when they enter the code texted to their own number
    confirmed = client.post(f"{path}code/", {"ticket": response.context["ticket"], "code": code_from_sms()})

    # then the kiosk thanks them as anyone, but their number is no confirmed contact of hers and nothing applies
    assert confirmed.status_code == 200
    theirs = ContactPoint.objects.for_merchant(merchant).get(value="+821098765432")
    assert not theirs.is_verified
    assert not ConsentEvent.objects.for_merchant(merchant).exists()


def test_a_withdrawal_applies_at_once_and_a_grant_waits(merchant, store, member):
    # given a member who agreed to email offers
    point, _path = make_wifi(merchant, store)
    consent_record(
        shopper=member,
        consents=[ConsentInput(channel="email", purpose="marketing", is_granted=True)],
        origin=ConsentOrigin(source="staff"),
    )

    # when a signup with her address withdraws it and grants text messages
    signup.shopper_signup(
        point=point,
        data=signup.SignupInput(
            language="en",
            email="minapark@gmail.com",
            consents=[
                ConsentInput(channel="email", purpose="marketing", is_granted=False),
                ConsentInput(channel="sms", purpose="marketing", is_granted=True),
            ],
        ),
    )

    # then the opt-out holds now; the grant waits
    decisions = list(
        ConsentEvent.objects.for_merchant(merchant)
        .order_by("pk")
        .values_list("channel", "is_granted", "took_effect_at")
    )
    assert decisions == [("email", True, None), ("email", False, None)]
    assert not _engine_would_email(member)
    assert SignupHold.objects.for_merchant(merchant).get().request["consents"][0]["channel"] == "sms"


def test_a_link_followed_after_the_hold_expired_applies_nothing(
    client, merchant, store, member, django_capture_on_commit_callbacks
):
    _point, path = make_wifi(merchant, store)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"first_name": "Eve", "email": "minapark@gmail.com", "consent_email_marketing": "on"})
    SignupHold.objects.for_merchant(merchant).update(expires_at=timezone.now() - timedelta(seconds=1))

    client.post(link_path(mail.outbox[0].body, "confirm"))

    assert not ConsentEvent.objects.for_merchant(merchant).exists()
    assert SignupHold.objects.for_merchant(merchant).get().applied_at is None


def test_the_profile_page_shows_what_was_held_and_when_it_took_effect(
    client, owner_client, outsider_client, merchant, store, member, django_capture_on_commit_callbacks
):
    # given a Wi-Fi signup with the member's address, one waiting and one proven by her link
    _point, path = make_wifi(merchant, store)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"first_name": "Eve", "email": "minapark@gmail.com", "consent_email_marketing": "on"})
    url = reverse("profiles:shopper_detail", args=[member.public_id])
    waiting = owner_client.get(url).content.decode()

    client.post(link_path(mail.outbox[0].body, "confirm"))
    applied = owner_client.get(url).content.decode()

    # then staff see the request waiting, then the decision with when it took effect
    assert "Held signups" in waiting and "Waiting until" in waiting and "email/marketing" in waiting
    assert "took effect" in applied and "Took effect" in applied and "Waiting until" not in applied
    # and another merchant's staff see nothing of it
    assert outsider_client.get(url).status_code == 404
