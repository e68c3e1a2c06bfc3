"""Fixtures and helpers for the shopper pages' tests (unit and browser)."""

import re

import pytest
from django.core.cache import cache

from profiles import sms
from profiles.models import SignupPointKind
from profiles.services import signup


@pytest.fixture(autouse=True)
def _fresh_limits_and_outbox():
    # Rate limits live in the cache; text messages in the in-memory backend's outbox.
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


def make_kiosk(merchant, store, **kwargs):
    """A registered kiosk and its page path."""
    point, token = signup.signup_point_create(
        merchant=merchant,
        actor=None,
        store=store,
        kind=SignupPointKind.KIOSK,
        name=kwargs.pop("name", "Level 2 kiosk"),
        welcome_message=kwargs.pop("welcome_message", "10% off today"),
        **kwargs,
    )
    return point, f"/s/kiosk/{token}/"


def make_wifi(merchant, store, redirect_url="https://example.com/welcome"):
    point, token = signup.signup_point_create(
        merchant=merchant,
        actor=None,
        store=store,
        kind=SignupPointKind.WIFI,
        name="Guest Wi-Fi",
        redirect_url=redirect_url,
    )
    return point, f"/s/wifi/{token}/"


def link_path(text: str, kind: str) -> str:
    """The path of the first /s/<kind>/… link in a message (SITE_URL differs from the test server's)."""
    match = re.search(rf"https?://[^/\s]+(/s/{kind}/[^\s?]+)(\?\S*)?", text)
    assert match, f"no {kind} link in: {text}"
    return match.group(1) + (match.group(2) or "")


def code_from_sms() -> str:
    match = re.search(r"(?<!\d)(\d{6})(?!\d)", sms.outbox[-1].body)
    assert match
    return match.group(1)
