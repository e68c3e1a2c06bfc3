"""Shopper pages in a real browser: kiosk signup in Arabic and Korean, the email link, the preference centre,
the staff profile's consent history, the kiosk clearing itself, and a screenshot of every page in every language."""

import re

import pytest
from django.core import mail

from merchants.permissions import Role
from profiles import links
from profiles.models import ConsentEvent, ContactPoint, Shopper
from tests.browser.conftest import ARTIFACTS
from tests.factories import TEST_PASSWORD, MembershipFactory, MerchantFactory, StoreFactory, UserFactory
from tests.profiles.factories import CardFactory, ContactFactory, ShopperFactory
from tests.profiles.shopper_fixtures import _fresh_limits_and_outbox, link_path, make_kiosk, make_wifi  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANGUAGES = ["en", "ko", "zh-hant", "ar"]


def _save(page, name):
    """A full-page screenshot of this page (the `screenshot` fixture shoots the fixture's own page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def mall(db):
    merchant = MerchantFactory(name="Northwind Outfitters", default_language="ko")
    store = StoreFactory(merchant=merchant, name="Riverside Mall")
    owner = UserFactory(email="owner@northwind.test")
    MembershipFactory(merchant=merchant, user=owner, role=Role.OWNER)
    return merchant, store


def _is_laid_out_for_reading(page, language):
    """Direction and language as the page declares them, nothing wider than the window, every input labelled."""
    html = page.locator("html")
    assert html.get_attribute("lang") == language
    assert html.get_attribute("dir") == ("rtl" if language == "ar" else "ltr")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
             .filter(el => el.labels.length === 0 && !el.getAttribute('aria-label')).map(el => el.name)"""
    )
    assert unlabelled == []


def test_kiosk_signups_in_korean_and_arabic_email_link_and_preference_centre_reach_the_staff_profile(
    live_server, browser, mall
):
    merchant, store = mall
    _point, kiosk_path = make_kiosk(merchant, store, welcome_message="오늘 10% 할인 · خصم 10٪ اليوم")
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    kiosk = context.new_page()

    # Korean, the store's language.
    kiosk.goto(f"{live_server.url}{kiosk_path}")
    _is_laid_out_for_reading(kiosk, "ko")
    kiosk.get_by_role("textbox", name="이름").fill("민지")
    kiosk.get_by_role("textbox", name="이메일").fill("minji@example.com")
    kiosk.get_by_label("Northwind Outfitters의 혜택과 소식을 이메일로 받겠습니다.").check()
    kiosk.get_by_role("button", name="가입하기").click()
    kiosk.get_by_role("heading", name="민지님, 환영합니다!").wait_for()
    assert kiosk.get_by_text("오늘 10% 할인").is_visible()

    # Arabic, picked by the next shopper (the kiosk cleared itself when they pressed Done).
    kiosk.get_by_role("link", name="완료").click()
    kiosk.get_by_role("link", name="العربية").click()
    _is_laid_out_for_reading(kiosk, "ar")
    kiosk.get_by_role("textbox", name="الاسم الأول").fill("ليلى")
    kiosk.get_by_role("textbox", name="البريد الإلكتروني").fill("layla@example.com")
    kiosk.get_by_label("أرسلوا لي العروض والأخبار من Northwind Outfitters عبر البريد الإلكتروني.").check()
    kiosk.get_by_role("button", name="سجّل").click()
    kiosk.get_by_role("heading", name="أهلًا بك يا ليلى!").wait_for()

    layla = Shopper.objects.for_merchant(merchant).get(first_name="ليلى")
    consent = ConsentEvent.objects.get(shopper=layla)
    assert (consent.channel, consent.purpose, consent.wording_version) == ("email", "marketing", "2026-11:ar")
    assert ConsentEvent.objects.for_merchant(merchant).get(shopper__first_name="민지").wording_version == "2026-11:ko"

    # Layla confirms her email from the link in the Arabic email, on her phone.
    (message,) = [m for m in mail.outbox if m.to == ["layla@example.com"]]
    assert "أكّد" in message.subject
    phone = context.new_page()
    phone.set_viewport_size({"width": 390, "height": 800})
    phone.goto(f"{live_server.url}{link_path(message.body, 'confirm')}")
    _is_laid_out_for_reading(phone, "ar")
    phone.get_by_role("button", name="نعم، أكّد بريدي الإلكتروني").click()
    phone.get_by_role("heading", name="تم تأكيد بريدك الإلكتروني.").wait_for()
    assert ContactPoint.objects.for_merchant(merchant).get(value="layla@example.com").is_verified

    # From there, the preference centre: she stops offers and agrees to feedback requests.
    phone.get_by_role("link", name="افتح تفضيلاتي").click()
    offers = phone.get_by_label("أرسلوا لي العروض والأخبار من Northwind Outfitters عبر البريد الإلكتروني.")
    assert offers.is_checked()
    offers.uncheck()
    phone.get_by_label("راسلوني عبر البريد الإلكتروني من حين لآخر لسؤالي عن زيارتي.").check()
    phone.get_by_role("button", name="احفظ اختياراتي").click()
    phone.get_by_text("تم حفظ اختياراتك.").wait_for()
    assert not phone.get_by_label(
        "أرسلوا لي العروض والأخبار من Northwind Outfitters عبر البريد الإلكتروني."
    ).is_checked()

    # Staff see both decisions in the profile's consent history.
    staff = context.new_page()
    staff.goto(f"{live_server.url}/accounts/login/")
    staff.get_by_label("Email").fill("owner@northwind.test")
    staff.get_by_label("Password").fill(TEST_PASSWORD)
    staff.get_by_role("button", name="Sign In").click()
    staff.get_by_role("link", name="Shoppers").first.wait_for()
    staff.goto(f"{live_server.url}/shoppers/{layla.public_id}/")
    staff.get_by_text("Full consent history").click()
    history = staff.locator("#consents details table tbody").inner_text()
    assert re.search(r"Email\s+Marketing\s+Withdrawn\s+Web page \(preference centre\)\s+2026-11:ar", history)
    assert re.search(r"Email\s+Feedback requests\s+Granted\s+Web page \(preference centre\)\s+2026-11:ar", history)
    assert re.search(r"Email\s+Marketing\s+Granted\s+Kiosk \(Mall kiosk [\w-]+", history)
    _save(staff, "staff-profile-consent-history")
    context.close()


def test_kiosk_clears_itself_when_idle_and_after_a_signup(live_server, page, mall, settings):
    settings.KIOSK_IDLE_SECONDS = 2
    settings.KIOSK_DONE_SECONDS = 2
    merchant, store = mall
    _point, kiosk_path = make_kiosk(merchant, store)
    home = f"{live_server.url}{kiosk_path}"

    # Idle: a half-typed form and a picked language are gone.
    page.goto(f"{home}?lang=en")
    page.get_by_role("textbox", name="First name").fill("Half-typed")
    page.wait_for_url(home, timeout=6000)
    assert page.get_by_role("textbox", name="이름").input_value() == ""

    # After a signup: the welcome page goes back to an empty form, and "back" does not return to it.
    page.get_by_role("textbox", name="이름").fill("Sora")
    page.get_by_role("textbox", name="이메일").fill("sora@example.com")
    page.get_by_role("button", name="가입하기").click()
    page.get_by_role("heading", name="Sora님, 환영합니다!").wait_for()
    page.wait_for_url(home, timeout=6000)
    page.get_by_role("button", name="가입하기").wait_for()
    assert "Sora" not in page.content()
    page.go_back()
    assert "Sora" not in page.content()


def test_screenshot_of_every_shopper_page_in_every_language(live_server, browser, mall, settings):
    settings.KIOSK_IDLE_SECONDS = 600
    settings.KIOSK_DONE_SECONDS = 600
    merchant, store = mall
    _point, kiosk_path = make_kiosk(merchant, store, has_card_reader=True)
    _wifi, wifi_path = make_wifi(merchant, store, redirect_url=f"{live_server.url}/healthz")
    shopper = ShopperFactory(merchant=merchant, first_name="Ana")
    contact = ContactFactory(shopper=shopper, value="ana@example.com", is_verified=False)
    CardFactory(shopper=shopper, last_four="4242")
    confirm = links.email_confirmation_token(contact)
    preferences = links.preference_centre_token(shopper)
    unsubscribe = links.unsubscribe_token(shopper, channel="email", purpose="marketing")

    for language in LANGUAGES:
        # At 200 % zoom a 1280-pixel window is 640 CSS pixels wide: the layout must still fit.
        context = browser.new_context(viewport={"width": 640, "height": 900})
        page = context.new_page()
        query = f"?lang={language}"

        def shoot(name, page=page, language=language):
            _is_laid_out_for_reading(page, language)
            _save(page, f"shopper-{name}-{language}")

        page.goto(f"{live_server.url}{kiosk_path}{query}")
        page.evaluate("storeloopKiosk.cardRead({id: 'tok_screenshot', lastFour: '1881', scheme: 'visa'})")
        shoot("kiosk-signup")
        page.locator("button[type=submit]").click()
        shoot("kiosk-signup-errors")
        page.locator("#id_first_name").fill("Sam")
        page.locator("#id_phone").fill(f"+44 7911 123{LANGUAGES.index(language):03d}")
        page.locator("button[type=submit]").click()
        page.locator("#id_code").wait_for()
        shoot("kiosk-welcome-code")
        page.locator("#id_code").fill("000000")
        page.locator("button[type=submit]").first.click()
        shoot("kiosk-code-wrong")

        page.goto(f"{live_server.url}{wifi_path}{query}")
        shoot("wifi-signup")
        page.goto(f"{live_server.url}/s/confirm/{confirm}/{query}")
        shoot("confirm-email")
        page.goto(f"{live_server.url}/s/preferences/{preferences}/{query}")
        shoot("preference-centre")
        page.goto(f"{live_server.url}/s/preferences/{preferences}/delete/{query}")
        shoot("delete-account")
        page.goto(f"{live_server.url}/s/unsubscribe/{unsubscribe}/{query}")
        shoot("unsubscribe")
        page.locator("button[type=submit]").click()
        shoot("unsubscribed")
        page.goto(f"{live_server.url}/s/preferences/{preferences[:-2]}xx/{query}")
        shoot("link-not-valid")
        page.goto(f"{live_server.url}/s/kiosk/no-such-kiosk/{query}")
        shoot("kiosk-closed")
        context.close()

    # The keyboard reaches the skip link first, and focus is visible.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/s/preferences/{preferences}/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    context.close()
