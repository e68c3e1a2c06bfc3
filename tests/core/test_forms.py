"""No form of the project takes a card number: the kiosk (a shopper's page) and the rule for every form."""

import importlib
import pkgutil

import pytest
from django import forms
from django.core import mail

from core.forms import CardNumberGuard
from profiles import sms
from profiles.models import Card, ConsentEvent, Shopper
from tests.profiles.shopper_fixtures import _fresh_limits_and_outbox, make_kiosk  # noqa: F401 - autouse fixture

PROJECT_APPS = ("core", "merchants", "profiles", "insights", "loyalty", "campaigns")
PAN = "4156272358379096"  # Luhn-valid
KIOSK_FORM = {"first_name": "Mina", "last_name": "Park", "email": "mina@example.com", "consent_email_marketing": "on"}


def _project_forms() -> list[type]:
    for app in PROJECT_APPS:
        package = importlib.import_module(app)
        for module in pkgutil.walk_packages(package.__path__, f"{app}."):
            if "migrations" not in module.name and "management" not in module.name:
                importlib.import_module(module.name)
    found, pending = [], [forms.BaseForm]
    while pending:
        for subclass in pending.pop().__subclasses__():
            pending.append(subclass)
            if subclass.__module__.split(".")[0] in PROJECT_APPS:
                found.append(subclass)
    return found


def test_every_form_of_the_project_refuses_card_numbers():
    project_forms = _project_forms()

    assert len(project_forms) > 30
    assert [form for form in project_forms if not issubclass(form, CardNumberGuard)] == []


@pytest.fixture
def kiosk(merchant, store):
    return make_kiosk(merchant, store, has_card_reader=True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", PAN),
        ("first_name", f"x{PAN}"),  # glued to a letter
        ("last_name", "４１５６ ２７２３ ５８３７ ９０９６"),  # full-width digits
        ("last_name", "4156\u00a02723\u00a05837\u00a09096"),  # no-break spaces
        ("first_name", "4156.2723.5837.9096"),
        ("card_token", PAN),  # the card reader's field must hold a processor's id, never the number
    ],
)
def test_the_kiosk_refuses_a_card_number_in_any_field_and_stores_nothing(client, merchant, kiosk, field, value):
    _point, path = kiosk

    response = client.post(path, {**KIOSK_FORM, field: value, "card_last_four": "9096", "link_card": "on"})

    page = response.text
    assert response.status_code == 400
    assert "This looks like a card number" in page
    assert value not in page and PAN not in page.replace(" ", "")
    assert not Shopper.objects.filter(merchant=merchant).exists()
    assert not Card.objects.filter(merchant=merchant).exists()
    assert not ConsentEvent.objects.filter(merchant=merchant).exists()
    assert not mail.outbox and not sms.outbox


@pytest.mark.django_db
def test_the_kiosk_tells_a_korean_shopper_in_korean(client, merchant, kiosk):
    _point, path = kiosk

    response = client.post(path, {**KIOSK_FORM, "lang": "ko", "first_name": PAN})

    assert response.status_code == 400
    assert "카드 번호로 보입니다. 안전을 위해 카드 번호는 받지 않습니다." in response.text


@pytest.mark.django_db
def test_a_kiosk_signup_with_ordinary_numbers_goes_through(client, merchant, kiosk):
    _point, path = kiosk

    response = client.post(path, {**KIOSK_FORM, "last_name": "Park 2026", "card_token": "tok_1234567890123"})

    assert response.status_code == 200
    assert Shopper.objects.filter(merchant=merchant, last_name="Park 2026").exists()
