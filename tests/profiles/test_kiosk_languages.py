"""The kiosk in the shopper's language: names asked in the order the language writes them, and the welcome reward
the merchant wrote for that language."""

import pytest
from django.urls import reverse

from profiles.models import SignupPoint
from tests.profiles.shopper_fixtures import make_kiosk
from tests.profiles.test_shopper_pages import KIOSK_FORM

pytestmark = pytest.mark.django_db


def _position(page: str, field: str) -> int:
    return page.index(f'name="{field}"')


def test_the_korean_form_asks_the_family_name_first(client, merchant, store):
    _point, path = make_kiosk(merchant, store)

    korean = client.get(path, {"lang": "ko"}).content.decode()
    english = client.get(path, {"lang": "en"}).content.decode()

    assert _position(korean, "last_name") < _position(korean, "first_name")
    assert _position(english, "first_name") < _position(english, "last_name")


def test_the_welcome_reward_is_shown_in_the_shoppers_language(client, merchant, store):
    # given a kiosk whose welcome reward is written for everyone and in Korean
    point, path = make_kiosk(merchant, store, welcome_message="10% off today")
    point.welcome_messages = {"ko": "오늘 10% 할인"}
    point.save(update_fields=["welcome_messages"])

    # when a Korean shopper and an Arabic shopper sign up
    korean = client.post(path, {**KIOSK_FORM, "lang": "ko"})
    arabic = client.post(path, {**KIOSK_FORM, "email": "layla@example.com", "phone": "+971 50 123 4567", "lang": "ar"})

    # then each reads the reward in their language, or the one written for everyone
    assert "오늘 10% 할인" in korean.content.decode()
    assert "10% off today" in arabic.content.decode()
    assert "오늘 10% 할인" not in arabic.content.decode()


def test_staff_write_the_welcome_reward_per_language(owner_client, merchant, store):
    response = owner_client.post(
        reverse("signup_points:list"),
        {
            "kind": "kiosk",
            "store": store.pk,
            "name": "Level 2",
            "welcome_message": "10% off today",
            "welcome_message_ko": "오늘 10% 할인",
            "welcome_message_ar": "خصم ١٠٪ اليوم",
        },
    )

    assert response.status_code == 302
    point = SignupPoint.objects.for_merchant(merchant).get(name="Level 2")
    assert point.welcome_messages == {"ko": "오늘 10% 할인", "ar": "خصم ١٠٪ اليوم"}
    form = owner_client.get(reverse("signup_points:list")).content.decode()
    assert "Welcome reward in 한국어" in form
