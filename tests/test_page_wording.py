"""What every staff page (enumerated from the URL conf) says: no help text twice, and no amount in minor units."""

import re
from collections import Counter

import pytest
from django.test import Client

from merchants.models import Store
from profiles.models import SignupPointKind
from profiles.services import signup
from tests.browser.staff_pages import page_urls, world_build

pytestmark = pytest.mark.django_db

HELP = re.compile(r'<small[^>]*id="[^"]*_helptext"[^>]*>(.*?)</small>|<small class="help"[^>]*>(.*?)</small>', re.S)


def _repeated_help(html: str) -> dict[str, int]:
    found = Counter((first or second).strip() for first, second in HELP.findall(html))
    return {text: count for text, count in found.items() if count > 1}


def test_no_staff_page_prints_a_help_text_twice():
    world = world_build()
    pages, _broken = page_urls(world)
    client = Client()
    client.force_login(world.owner)

    repeated = {name: _repeated_help(client.get(url).content.decode()) for name, url in pages.items()}

    assert {name: texts for name, texts in repeated.items() if texts} == {}


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def test_no_staff_page_speaks_of_minor_units_or_cents():
    world = world_build()
    pages, _broken = page_urls(world)
    client = Client()
    client.force_login(world.owner)

    said = {
        name: re.findall(r"minor units?|\bcents?\b", _visible_text(client.get(url).content.decode()), re.I)
        for name, url in pages.items()
    }

    assert {name: words for name, words in said.items() if words} == {}


def test_the_kiosk_gives_what_you_shop_for_its_own_help_text(client):
    world = world_build()
    store = Store.objects.for_merchant(world.merchant).first()
    _point, token = signup.signup_point_create(
        merchant=world.merchant, actor=None, store=store, kind=SignupPointKind.KIOSK, name="Level 1"
    )

    page = client.get(f"/s/kiosk/{token}/").content.decode()

    assert _repeated_help(page) == {}
    assert "Separate with commas, e.g. M, 38" in page  # sizes
    assert "The kinds of things you buy here, e.g. shoes, coffee" in page  # what you shop for
