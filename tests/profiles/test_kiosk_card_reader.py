"""A kiosk's card reader names its payment provider and account: a card tapped there is recognised in that
provider's later payments (Settings → Kiosks, the kiosk page, then a provider's webhook)."""

import pytest

from merchants.models import Merchant
from profiles.models import CardIdentity, CardIdentityVia, Purchase, Shopper, SignupPoint
from tests.payments.fixtures import raw_payload
from tests.payments.helpers import make_source, signed_post
from tests.profiles.shopper_fixtures import _fresh_limits_and_outbox, make_kiosk  # noqa: F401

pytestmark = pytest.mark.django_db

SETTINGS_URL = "/settings/kiosks/"
ACCOUNT = "acct_northwind"
FINGERPRINT = "Xt5EWLLDS7FJjR1c"  # the card_present fingerprint of the stored Stripe Terminal charge
SIGNUP = {
    "first_name": "Mina",
    "email": "mina@example.com",
    "link_card": "on",
    "card_token": FINGERPRINT,
    "card_last_four": "4242",
    "card_scheme": "visa",
}


@pytest.fixture
def dollar_merchant(merchant):
    """The stored Stripe payloads are in US dollars."""
    Merchant.objects.filter(pk=merchant.pk).update(currency="USD")
    merchant.refresh_from_db()
    return merchant


def _register(client, store, **changes):
    return client.post(
        SETTINGS_URL,
        {
            "kind": "kiosk",
            "store": store.pk,
            "name": "Level 2 kiosk",
            "has_card_reader": "on",
            "card_reader_provider": "stripe",
            "card_reader_account": ACCOUNT,
            **changes,
        },
    )


def test_owner_registers_a_kiosk_with_a_stripe_terminal_reader(owner_client, store):
    response = _register(owner_client, store)

    assert response.status_code == 302
    point = SignupPoint.objects.for_merchant(store.merchant).get()
    assert (point.has_card_reader, point.card_reader_provider, point.card_reader_account) == (True, "stripe", ACCOUNT)
    page = owner_client.get(SETTINGS_URL).text
    assert "Stripe Terminal · acct_northwind" in page
    assert "Card reader&#x27;s provider" in page or "Card reader's provider" in page


def test_a_reader_provider_needs_its_account(owner_client, store):
    response = _register(owner_client, store, card_reader_account="")

    assert response.status_code == 400
    assert "account the reader belongs to" in response.text
    assert not SignupPoint.objects.for_merchant(store.merchant).exists()


def test_only_providers_with_readers_are_offered(owner_client, store):
    response = _register(owner_client, store, card_reader_provider="fidel")

    assert response.status_code == 400
    assert not SignupPoint.objects.for_merchant(store.merchant).exists()


def test_a_kiosk_without_a_reader_keeps_no_reader_provider(owner_client, store):
    _register(owner_client, store, has_card_reader="")

    point = SignupPoint.objects.for_merchant(store.merchant).get()
    assert (point.has_card_reader, point.card_reader_provider, point.card_reader_account) == (False, "", "")


def test_a_card_tapped_at_the_kiosk_lands_its_later_stripe_payment_on_the_shopper(
    client, dollar_merchant, store, django_capture_on_commit_callbacks
):
    # given a Stripe source, and a kiosk whose Stripe Terminal reader is of the same account
    source = make_source(dollar_merchant, "stripe", store=store, account=ACCOUNT)
    _point, path = make_kiosk(
        dollar_merchant, store, has_card_reader=True, card_reader_provider="stripe", card_reader_account=ACCOUNT
    )

    # when a shopper signs up there with the card the reader read, then pays with it
    assert client.post(path, SIGNUP).status_code == 200
    shopper = Shopper.objects.for_merchant(dollar_merchant).get()
    with django_capture_on_commit_callbacks(execute=True):
        answer = signed_post(source, raw_payload("stripe", "charge_succeeded_uncaptured"))

    # then the purchase is the shopper's
    assert answer.status_code == 200
    purchase = Purchase.objects.for_merchant(dollar_merchant).get()
    assert (purchase.shopper, purchase.amount_minor, purchase.store) == (shopper, 2500, store)
    identity = CardIdentity.objects.for_merchant(dollar_merchant).get()
    assert (identity.provider, identity.scope, identity.kind, identity.linked_via) == (
        "stripe",
        ACCOUNT,
        "fingerprint",
        CardIdentityVia.READER,
    )


def test_a_reader_of_another_account_is_not_recognised(
    client, dollar_merchant, store, django_capture_on_commit_callbacks
):
    source = make_source(dollar_merchant, "stripe", store=store, account=ACCOUNT)
    _point, path = make_kiosk(
        dollar_merchant, store, has_card_reader=True, card_reader_provider="stripe", card_reader_account="acct_other"
    )

    client.post(path, SIGNUP)
    with django_capture_on_commit_callbacks(execute=True):
        signed_post(source, raw_payload("stripe", "charge_succeeded_uncaptured"))

    # Stripe fingerprints are per account: another account's reading names another card.
    assert Purchase.objects.for_merchant(dollar_merchant).get().shopper is None


def test_an_adyen_reader_links_the_card_alias(client, merchant, store):
    _point, path = make_kiosk(
        merchant, store, has_card_reader=True, card_reader_provider="adyen", card_reader_account="NorthwindPOS"
    )

    client.post(path, {**SIGNUP, "card_token": "A012345678901234"})

    identity = CardIdentity.objects.for_merchant(merchant).get()
    assert (identity.provider, identity.scope, identity.kind) == ("adyen", "NorthwindPOS", "alias")


def test_the_card_number_guard_of_the_kiosk_form_stays(client, merchant, store):
    _point, path = make_kiosk(
        merchant, store, has_card_reader=True, card_reader_provider="stripe", card_reader_account=ACCOUNT
    )

    response = client.post(path, {**SIGNUP, "card_token": "4111 1111 1111 1111"})

    assert response.status_code == 400
    assert "4111" not in response.text
    assert not Shopper.objects.for_merchant(merchant).exists()
    assert not CardIdentity.objects.for_merchant(merchant).exists()
