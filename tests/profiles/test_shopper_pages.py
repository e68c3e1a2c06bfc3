"""Shopper pages: kiosk and Wi-Fi signup, confirmations, preference centre, unsubscribe, rate limits, links."""

import json
import time

import pytest
from django.core import mail, signing
from django.test import Client

from profiles import links, sms
from profiles.models import (
    ConsentEvent,
    ConsentSource,
    ContactPoint,
    Shopper,
    ShopperStatus,
    Visit,
    VisitSource,
)
from tests.profiles.factories import CardFactory, ContactFactory, ShopperFactory
from tests.profiles.shopper_fixtures import (  # noqa: F401 - the autouse fixture
    _fresh_limits_and_outbox,
    code_from_sms,
    link_path,
    make_kiosk,
    make_wifi,
)

pytestmark = pytest.mark.django_db

KIOSK_FORM = {
    "first_name": "Mina",
    "last_name": "Park",
    "email": "Mina@Example.com",
    "phone": "+82 10 2345 6789",
    "consent_email_marketing": "on",
    "consent_sms_feedback": "on",
    "sizes": "M, 95",
    "favourite_categories": "shoes",
}
# The same, by email alone.
EMAIL_ONLY = {**KIOSK_FORM, "phone": "", "consent_sms_feedback": ""}


@pytest.fixture
def korean_merchant(merchant):
    merchant.default_language = "ko"
    merchant.save(update_fields=["default_language"])
    return merchant


@pytest.fixture
def kiosk(korean_merchant, store):
    return make_kiosk(korean_merchant, store)


# Kiosk signup


def test_kiosk_page_speaks_the_stores_language_unless_the_shopper_picks_another(client, kiosk):
    _point, path = kiosk

    korean = client.get(path)
    arabic = client.get(path, {"lang": "ar"})

    assert korean.status_code == 200
    assert '<html lang="ko" dir="ltr">' in korean.text
    assert "리워드에 가입하세요" in korean.text
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert "انضم" in arabic.text
    assert korean["Cache-Control"].count("no-store") == 1
    # One unticked box per channel and purpose.
    assert korean.text.count('type="checkbox"') == 4
    assert "checked" not in korean.text


def test_kiosk_signup_records_shopper_consents_with_wording_visit_and_sends_confirmations(
    client, kiosk, django_capture_on_commit_callbacks
):
    point, path = kiosk

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, KIOSK_FORM)

    assert response.status_code == 200
    assert "Mina" in response.text and "10% off today" in response.text
    shopper = Shopper.all_merchants.get()
    assert (shopper.first_name, shopper.language, shopper.home_store_id) == ("Mina", "ko", point.store_id)
    contacts = {c.kind: c for c in ContactPoint.objects.filter(shopper=shopper)}
    assert contacts["email"].value == "mina@example.com" and not contacts["email"].is_verified
    assert contacts["phone"].value == "+821023456789" and not contacts["phone"].is_verified
    consents = ConsentEvent.objects.filter(shopper=shopper).order_by("channel")
    assert [(c.channel, c.purpose, c.is_granted) for c in consents] == [
        ("email", "marketing", True),
        ("sms", "feedback", True),
    ]
    assert {c.wording_version for c in consents} == {"2026-11:ko"}
    assert {c.source for c in consents} == {ConsentSource.KIOSK}
    assert point.token_prefix in consents[0].source_ref
    assert shopper.preferences.sizes == ["M", "95"]
    assert Visit.objects.get(shopper=shopper).source == VisitSource.KIOSK
    # The confirmation email, in Korean, and a texted code.
    (email,) = mail.outbox
    assert email.to == ["mina@example.com"] and "/s/confirm/" in email.body
    assert "확인" in email.subject
    assert sms.outbox[-1].to == "+821023456789"
    assert "코드" in sms.outbox[-1].body


def test_kiosk_code_confirms_the_phone_and_a_wrong_code_does_not(client, kiosk, django_capture_on_commit_callbacks):
    _point, path = kiosk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {**KIOSK_FORM, "email": "", "consent_email_marketing": ""})
    ticket = response.context["code_form"]["ticket"].value()
    code = code_from_sms()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    refused = client.post(f"{path}code/", {"ticket": ticket, "code": wrong})
    phone = ContactPoint.all_merchants.get(kind="phone")
    assert refused.status_code == 400
    assert "코드가 맞지 않습니다" in refused.text
    assert not phone.is_verified

    confirmed = client.post(f"{path}code/", {"ticket": ticket, "code": code})
    phone.refresh_from_db()
    assert confirmed.status_code == 200
    assert phone.is_verified


def test_kiosk_refuses_a_submission_without_contact_in_the_shoppers_language_and_stores_nothing(client, kiosk):
    _point, path = kiosk

    response = client.post(path, {"lang": "ar", "first_name": "Layla", "consent_sms_marketing": "on"})

    assert response.status_code == 400
    assert 'dir="rtl"' in response.text
    assert "أدخل رقم هاتف محمول" in response.text  # "give a mobile number to receive text messages"
    assert Shopper.all_merchants.count() == 0
    assert ConsentEvent.all_merchants.count() == 0
    assert not mail.outbox and not sms.outbox


def test_a_card_already_linked_signs_up_onto_its_shoppers_profile(client, korean_merchant, store):
    _point, path = make_kiosk(korean_merchant, store, has_card_reader=True)
    owner = ShopperFactory(merchant=korean_merchant, first_name="")
    CardFactory(shopper=owner, token="tok_known")

    response = client.post(
        path,
        {**KIOSK_FORM, "link_card": "on", "card_token": "tok_known", "card_last_four": "4242", "card_scheme": "visa"},
    )

    assert response.status_code == 200
    assert Shopper.all_merchants.count() == 1
    owner.refresh_from_db()
    assert owner.first_name == "Mina"
    assert ContactPoint.objects.filter(shopper=owner, value="mina@example.com").exists()


def test_tapping_a_card_without_ticking_the_box_links_nothing(client, korean_merchant, store):
    _point, path = make_kiosk(korean_merchant, store, has_card_reader=True)

    client.post(path, {**KIOSK_FORM, "card_token": "tok_new", "card_last_four": "4242", "card_scheme": "visa"})

    assert not Shopper.all_merchants.get().cards.exists()


def test_kiosk_links_the_tapped_card(client, korean_merchant, store):
    _point, path = make_kiosk(korean_merchant, store, has_card_reader=True)

    client.post(
        path,
        {**KIOSK_FORM, "link_card": "on", "card_token": "tok_new", "card_last_four": "4242", "card_scheme": "visa"},
    )

    shopper = Shopper.all_merchants.get()
    assert shopper.cards.get().last_four == "4242"


def test_revoked_kiosk_token_closes_the_page_and_stores_nothing(client, kiosk):
    point, path = kiosk
    from profiles.services.signup import signup_point_revoke

    signup_point_revoke(point=point, actor=None)

    assert client.get(path).status_code == 404
    response = client.post(path, KIOSK_FORM)
    assert response.status_code == 404
    assert "not available" in response.text
    assert Shopper.all_merchants.count() == 0


def test_kiosk_pages_require_csrf(kiosk):
    _point, path = kiosk
    response = Client(enforce_csrf_checks=True).post(path, KIOSK_FORM)
    assert response.status_code == 403
    assert Shopper.all_merchants.count() == 0


# Rate limits


def _limits(settings, **rates):
    settings.SHOPPER_RATE_LIMITS = {**settings.SHOPPER_RATE_LIMITS, **rates}


def test_submissions_per_kiosk_are_limited_with_429_and_retry_after(client, settings, kiosk):
    _limits(settings, signup_point="2/hour")
    _point, path = kiosk

    for number in range(2):
        assert client.post(path, {**EMAIL_ONLY, "email": f"s{number}@example.com"}).status_code == 200
    refused = client.post(path, {**EMAIL_ONLY, "email": "third@example.com"})

    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert "시도" in refused.text  # in the store's language
    assert not ContactPoint.all_merchants.filter(value="third@example.com").exists()


def test_submissions_per_client_address_are_limited_across_kiosks(client, settings, korean_merchant, store):
    _limits(settings, ip="1/minute")
    _first, first_path = make_kiosk(korean_merchant, store, name="A")
    _second, second_path = make_kiosk(korean_merchant, store, name="B")

    assert client.post(first_path, EMAIL_ONLY).status_code == 200
    refused = client.post(second_path, {**EMAIL_ONLY, "email": "other@example.com"})
    other_address = client.post(second_path, {**EMAIL_ONLY, "email": "other@example.com"}, REMOTE_ADDR="10.0.0.9")

    assert refused.status_code == 429 and "Retry-After" in refused
    assert other_address.status_code == 200


def test_a_forged_forwarded_for_header_does_not_dodge_the_address_limit(client, settings, kiosk):
    _limits(settings, ip="1/minute")
    _point, path = kiosk

    assert client.post(path, EMAIL_ONLY, HTTP_X_FORWARDED_FOR="203.0.113.1").status_code == 200
    refused = client.post(path, {**EMAIL_ONLY, "email": "b@example.com"}, HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert refused.status_code == 429


def test_codes_per_phone_number_are_limited_and_the_refused_signup_stores_nothing(client, settings, kiosk):
    _limits(settings, sms_phone="1/hour")
    _point, path = kiosk

    assert client.post(path, KIOSK_FORM).status_code == 200
    refused = client.post(path, {**KIOSK_FORM, "email": "again@example.com"})

    assert refused.status_code == 429
    assert len(sms.outbox) == 1
    assert Shopper.all_merchants.count() == 1


def test_codes_per_kiosk_are_limited(client, settings, kiosk):
    _limits(settings, sms_signup_point="1/hour")
    _point, path = kiosk

    assert client.post(path, KIOSK_FORM).status_code == 200
    refused = client.post(path, {**KIOSK_FORM, "phone": "+82 10 9999 8888", "email": "b@example.com"})

    assert refused.status_code == 429
    assert len(sms.outbox) == 1


def test_code_guesses_are_limited(client, settings, kiosk):
    _limits(settings, sms_attempts="2/hour")
    _point, path = kiosk
    response = client.post(path, KIOSK_FORM)
    ticket = response.context["code_form"]["ticket"].value()
    code = code_from_sms()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    for _ in range(2):
        assert client.post(f"{path}code/", {"ticket": ticket, "code": wrong}).status_code == 400
    refused = client.post(f"{path}code/", {"ticket": ticket, "code": code})

    assert refused.status_code == 429
    assert not ContactPoint.all_merchants.get(kind="phone").is_verified


# Email confirmation links


def _signed_up_email(client, path, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, EMAIL_ONLY)
    return link_path(mail.outbox[-1].body, "confirm")


def test_email_link_opens_a_page_and_only_its_button_confirms(client, kiosk, django_capture_on_commit_callbacks):
    _point, path = kiosk
    confirm_path = _signed_up_email(client, path, django_capture_on_commit_callbacks)

    page = client.get(confirm_path)
    contact = ContactPoint.all_merchants.get(kind="email")
    assert page.status_code == 200 and 'lang="ko"' in page.text
    assert not contact.is_verified

    done = client.post(confirm_path)
    contact.refresh_from_db()
    assert done.status_code == 200
    assert contact.is_verified


def test_expired_email_link_is_refused(client, settings, kiosk, monkeypatch, django_capture_on_commit_callbacks):
    _point, path = kiosk
    contact_token_path = _signed_up_email(client, path, django_capture_on_commit_callbacks)
    contact = ContactPoint.all_merchants.get(kind="email")
    # The same link, signed as if sent eight days ago.
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - 8 * 86400)
    old_token = links.email_confirmation_token(contact)
    monkeypatch.setattr(signing.time, "time", real_time)
    assert "/s/confirm/" in contact_token_path

    response = client.post(f"/s/confirm/{old_token}/?lang=ko")  # confirmation links carry the language

    contact.refresh_from_db()
    assert response.status_code == 410
    assert "만료" in response.text
    assert not contact.is_verified


def test_tampered_email_link_is_refused(client, kiosk, django_capture_on_commit_callbacks):
    _point, path = kiosk
    confirm_path = _signed_up_email(client, path, django_capture_on_commit_callbacks)
    token = confirm_path.split("/")[3]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    response = client.post(f"/s/confirm/{tampered}/")

    assert response.status_code == 404
    assert not ContactPoint.all_merchants.get(kind="email").is_verified


def test_a_link_of_one_kind_does_not_open_another(client, merchant):
    shopper = ShopperFactory(merchant=merchant)
    unsubscribe_token = links.unsubscribe_token(shopper, channel="email", purpose="marketing")

    assert client.get(f"/s/preferences/{unsubscribe_token}/").status_code == 404


# Wi-Fi portal


def test_wifi_signup_records_shopper_and_visit_then_hands_back(client, merchant, store):
    _point, path = make_wifi(merchant, store)

    response = client.post(path, {"first_name": "Ana", "email": "ana@example.com", "consent_email_marketing": "on"})

    assert response.status_code == 302 and response["Location"] == "https://example.com/welcome"
    shopper = Shopper.all_merchants.get()
    assert shopper.joined_via == "wifi"
    assert Visit.objects.get(shopper=shopper).source == VisitSource.WIFI
    assert ConsentEvent.objects.get(shopper=shopper).source == ConsentSource.PAGE


def test_wifi_honeypot_stores_nothing_but_looks_like_success(client, merchant, store):
    _point, path = make_wifi(merchant, store)

    response = client.post(path, {"email": "bot@example.com", "website": "http://spam.example"})

    assert response.status_code == 302
    assert Shopper.all_merchants.count() == 0 and Visit.all_merchants.count() == 0


def test_wifi_just_connect_counts_an_anonymous_visit(client, merchant, store):
    _point, path = make_wifi(merchant, store)

    response = client.post(path, {"skip": "1"})

    assert response.status_code == 302
    assert Visit.all_merchants.get().shopper is None
    assert Shopper.all_merchants.count() == 0


def test_wifi_refuses_a_bad_email_in_the_shoppers_language(client, merchant, store):
    _point, path = make_wifi(merchant, store)

    response = client.post(path, {"email": "not-an-address", "lang": "zh-hant"})

    assert response.status_code == 400
    assert "請輸入有效的電子郵件地址" in response.text
    assert Shopper.all_merchants.count() == 0


# Preference centre


@pytest.fixture
def member(merchant):
    shopper = ShopperFactory(merchant=merchant, first_name="Ana", language="zh-hant")
    ContactFactory(shopper=shopper, value="ana@example.com")
    return shopper


def _preferences_path(shopper):
    return f"/s/preferences/{links.preference_centre_token(shopper)}/"


def test_preference_centre_changes_consent_and_staff_see_it_in_the_history(client, member, owner_client):
    path = _preferences_path(member)
    page = client.get(path)
    assert page.status_code == 200 and 'lang="zh-hant"' in page.text

    response = client.post(f"{path}consents/", {"consent_email_feedback": "on"})

    assert response.status_code == 302
    event = ConsentEvent.objects.get(shopper=member)
    assert (event.channel, event.purpose, event.is_granted, event.source) == ("email", "feedback", True, "page")
    assert event.wording_version == "2026-11:zh-hant"
    staff_page = owner_client.get(f"/shoppers/{member.public_id}/")
    assert "Web page (preference centre)" in staff_page.text
    assert "2026-11:zh-hant" in staff_page.text


def test_unchanged_consents_add_nothing_to_the_ledger(client, member):
    path = _preferences_path(member)
    client.post(f"{path}consents/", {"consent_email_feedback": "on"})
    client.post(f"{path}consents/", {"consent_email_feedback": "on"})
    assert ConsentEvent.objects.filter(shopper=member).count() == 1


def test_preferences_are_replaced(client, member):
    path = _preferences_path(member)
    client.post(f"{path}profile/", {"sizes": "S, M", "colours": "red"})
    client.post(f"{path}profile/", {"sizes": "M", "colours": ""})
    member.preferences.refresh_from_db()
    assert (member.preferences.sizes, member.preferences.colours) == (["M"], [])


def test_expired_preference_link(client, member, monkeypatch, settings):
    real_time = time.time
    monkeypatch.setattr(signing.time, "time", lambda: real_time() - (settings.SHOPPER_LINK_MAX_AGE_DAYS + 1) * 86400)
    old = _preferences_path(member)
    monkeypatch.setattr(signing.time, "time", real_time)

    response = client.get(old)

    assert response.status_code == 410
    assert client.post(f"{old}consents/", {"consent_email_feedback": "on"}).status_code == 410
    assert ConsentEvent.all_merchants.count() == 0


def test_tampered_preference_link(client, member):
    token = links.preference_centre_token(member)
    assert client.get(f"/s/preferences/{token[:-1]}x/").status_code == 404


def test_shopper_unlinks_own_card_but_not_anothers(client, member, merchant):
    own = CardFactory(shopper=member)
    theirs = CardFactory(shopper=ShopperFactory(merchant=merchant))
    path = _preferences_path(member)

    assert client.post(f"{path}cards/{theirs.public_id}/unlink/").status_code == 404
    assert client.post(f"{path}cards/{own.public_id}/unlink/").status_code == 302

    own.refresh_from_db()
    theirs.refresh_from_db()
    assert (own.status, theirs.status) == ("unlinked", "active")


def test_download_my_data(client, member):
    response = client.post(f"{_preferences_path(member)}export/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    data = json.loads(response.content)
    assert "ana@example.com" in json.dumps(data)


def test_delete_my_account_needs_the_confirmation(client, member):
    path = f"{_preferences_path(member)}delete/"

    refused = client.post(path, {})
    member.refresh_from_db()
    assert refused.status_code == 400 and member.status == ShopperStatus.ACTIVE

    done = client.post(path, {"confirm": "on"})
    member.refresh_from_db()
    assert done.status_code == 200
    assert member.status == ShopperStatus.ERASED
    assert not ContactPoint.objects.filter(shopper=member).exists()
    # The link now says the account is gone.
    assert client.get(_preferences_path(member)).status_code == 410


# One-click unsubscribe


def test_list_unsubscribe_headers_follow_rfc_8058(member, settings):
    settings.SITE_URL = "https://shop.example"
    headers = links.list_unsubscribe_headers(member)

    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<https://shop.example/s/unsubscribe/")
    assert headers["List-Unsubscribe"].endswith("/>")


def test_one_click_unsubscribe_withdraws_consent_without_csrf_and_opening_changes_nothing(member):
    url = links.list_unsubscribe_headers(member)["List-Unsubscribe"].strip("<>")
    path = url.split("://", 1)[1].split("/", 1)[1]
    client = Client(enforce_csrf_checks=True)

    assert client.get(f"/{path}").status_code == 200
    assert not ConsentEvent.all_merchants.exists()

    response = client.post(f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 200
    event = ConsentEvent.objects.get(shopper=member)
    assert (event.channel, event.purpose, event.is_granted, event.source) == (
        "email",
        "marketing",
        False,
        ConsentSource.UNSUBSCRIBE_LINK,
    )
    client.post(f"/{path}", "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert ConsentEvent.objects.filter(shopper=member).count() == 1


def test_a_tampered_unsubscribe_link_changes_nothing(member):
    token = links.unsubscribe_token(member, channel="email", purpose="marketing")
    other_kind = links.preference_centre_token(member)

    for bad in (token[:-3] + "abc", other_kind):
        response = Client().post(f"/s/unsubscribe/{bad}/", "List-Unsubscribe=One-Click", content_type="text/plain")
        assert response.status_code == 404
    assert not ConsentEvent.all_merchants.exists()


def test_marketing_goes_only_to_confirmed_contacts(merchant):
    from profiles.selectors import contact_for_message

    shopper = ShopperFactory(merchant=merchant)
    ContactFactory(shopper=shopper, value="new@example.com", is_verified=False)
    assert contact_for_message(merchant=merchant, shopper=shopper, kind="email") is None
    ContactFactory(shopper=shopper, value="old@example.com", is_verified=True)
    assert contact_for_message(merchant=merchant, shopper=shopper, kind="email").value == "old@example.com"


def test_preference_centre_reads_a_fixed_number_of_queries(client, member, django_assert_max_num_queries):
    for _card in range(3):
        CardFactory(shopper=member)
    client.post(f"{_preferences_path(member)}consents/", {"consent_email_feedback": "on"})

    # shopper and merchant, consents, preferences, contacts, cards, and the sections other apps add
    # through `shopper_preference_sections` (campaigns: the live offers, one query; loyalty: the shopper's points,
    # one query): however many of each.
    with django_assert_max_num_queries(7):
        response = client.get(_preferences_path(member))

    assert response.status_code == 200
