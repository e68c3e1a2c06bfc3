"""Identity resolution: match keys, folded names, and the duplicate candidates they find, across scripts."""

import unicodedata
from datetime import date

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles import identity_keys, selectors
from profiles.models import CardStatus, ContactPoint, Shopper
from tests.profiles.factories import CardFactory, ContactFactory, ShopperFactory

pytestmark = pytest.mark.django_db


def _pairs(merchant):
    return {
        frozenset({pair.first.pk, pair.second.pk}): pair for pair in selectors.duplicate_candidates(merchant=merchant)
    }


def _stored_match_key(contact):
    return (
        ContactPoint.objects.for_merchant(contact.merchant_id)
        .filter(pk=contact.pk)
        .values_list("match_key", flat=True)
        .get()
    )


# Keys


@pytest.mark.parametrize(
    ("email", "key"),
    [
        ("Ada.Lovelace+shop@GMail.com", "adalovelace@gmail.com"),
        ("a.d.a@googlemail.com", "ada@gmail.com"),
        ("ada.lovelace+news@outlook.com", "ada.lovelace@outlook.com"),
        ("Ada+x@iCloud.com", "ada@icloud.com"),
        ("ada+x@proton.me", "ada@proton.me"),
        # Naver and Daum deliver a dotted address elsewhere, and know no +tags: only the case folds.
        ("Kim.Minjun@naver.com", "kim.minjun@naver.com"),
        ("kim.minjun+1@daum.net", "kim.minjun+1@daum.net"),
        ("ada.lovelace+x@example.com", "ada.lovelace+x@example.com"),
    ],
)
def test_an_email_key_folds_only_what_its_provider_ignores(merchant, email, key):
    contact = ContactFactory(shopper=ShopperFactory(merchant=merchant), value=email)

    assert identity_keys.email_match_key(email) == key
    assert _stored_match_key(contact) == key


def test_a_phone_key_is_e164(merchant):
    contact = ContactFactory(shopper=ShopperFactory(merchant=merchant), kind="phone", value="+82 10-1234-5678")

    assert _stored_match_key(contact) == "+821012345678"
    assert identity_keys.phone_match_key("010-1234-5678", region="KR") == "+821012345678"


_LOCAL_PARTS = st.text(alphabet="abcXYZ.+-_019", min_size=1, max_size=12)
_DOMAINS = st.sampled_from(["gmail.com", "GoogleMail.com", "outlook.com", "naver.com", "daum.net", "example.org"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=_LOCAL_PARTS, domain=_DOMAINS)
def test_the_database_and_python_give_an_email_one_key(merchant, local, domain):
    email = f"{local}@{domain}"
    contact = ContactPoint.objects.create(
        merchant=merchant, shopper=ShopperFactory(merchant=merchant), kind="email", value=email
    )

    assert _stored_match_key(contact) == identity_keys.email_match_key(email)


_NAME_LETTERS = st.sampled_from(
    list("adeinoAEO ÉéèçñÑüÖß")
    + list("김민준서연이박최")
    + list("陳陈張张黃黄大文明林")
    + list("محمدأحمإآعليةىـ")
    + ["\u064e", "\u0651", "\u0301", "\u1100", "\u1161"]  # fatha, shadda, acute accent, Hangul jamo
)
_NAMES = st.lists(_NAME_LETTERS, max_size=10).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=_NAMES, last=_NAMES)
def test_the_database_and_python_fold_a_name_alike(merchant, first, last):
    shopper = Shopper.objects.create(merchant=merchant, first_name=first, last_name=last, joined_via="api")

    stored = Shopper.objects.for_merchant(merchant).filter(pk=shopper.pk).values_list("name_key", flat=True).get()

    assert stored == identity_keys.name_key(first, last)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        (("José", "GARCÍA"), ("jose", "garcia")),
        (("大文", "陳"), ("大文", "陈")),  # Traditional and Simplified
        (("مُحَمَّد", "أحمد"), ("محمد", "احمد")),  # tashkeel, hamza on alef
        (("فاطمة", "علـــي"), ("فاطمه", "علي")),  # ta marbuta, tatweel
        (("민준", "김"), (unicodedata.normalize("NFD", "민준"), unicodedata.normalize("NFD", "김"))),  # jamo
        (("Ｋｉｍ", "MINJUN"), ("kim", "minjun")),  # full-width letters
    ],
)
def test_names_fold_to_one_key_across_spellings(one, other):
    assert identity_keys.name_key(*one) == identity_keys.name_key(*other)


# Candidates


def test_duplicate_candidates_across_scripts(merchant, other_merchant):
    # given Traditional and Simplified spellings of one Chinese name, born the same day
    chan = ShopperFactory(merchant=merchant, first_name="大文", last_name="陳", birthday=date(1980, 2, 3))
    chan_again = ShopperFactory(merchant=merchant, first_name="大文", last_name="陈", birthday=date(1980, 2, 3))
    # an Arabic name with and without its vowel marks, with one mobile number written two ways
    mohammed = ShopperFactory(merchant=merchant, first_name="مُحَمَّد", last_name="أحمد")
    ContactFactory(shopper=mohammed, kind="phone", value="+966501234567")
    mohammed_again = ShopperFactory(merchant=merchant, first_name="محمد", last_name="احمد")
    ContactFactory(shopper=mohammed_again, kind="phone", value="+9660501234567")
    # a Korean name typed in decomposed jamo, with the same email name at Naver and at Daum
    minjun = ShopperFactory(merchant=merchant, first_name="민준", last_name="김")
    ContactFactory(shopper=minjun, value="minjun.kim@naver.com")
    minjun_again = ShopperFactory(
        merchant=merchant, first_name=unicodedata.normalize("NFD", "민준"), last_name=unicodedata.normalize("NFD", "김")
    )
    ContactFactory(shopper=minjun_again, value="minjun.kim@daum.net", is_verified=False)
    # one Gmail mailbox spelled two ways, once under a romanised name and once in Hangul
    seoyeon = ShopperFactory(merchant=merchant, first_name="Seoyeon", last_name="Park")
    ContactFactory(shopper=seoyeon, value="seo.yeon.park@gmail.com")
    seoyeon_hangul = ShopperFactory(merchant=merchant, first_name="서연", last_name="박")
    ContactFactory(shopper=seoyeon_hangul, value="SeoyeonPark+shop@googlemail.com", is_verified=False)
    # accents, and a card linked again to a new profile after it was unlinked from the first
    jose = ShopperFactory(merchant=merchant, first_name="José", last_name="García")
    card = CardFactory(shopper=jose, token="tok_jose", status=CardStatus.UNLINKED)
    jose_again = ShopperFactory(merchant=merchant, first_name="Jose", last_name="Garcia")
    CardFactory(shopper=jose_again, token="tok_jose", fingerprint=card.fingerprint)
    # not duplicates: a similar name alone; another given name; a dot Naver does not ignore; another merchant
    ShopperFactory(merchant=merchant, first_name="大明", last_name="陈", birthday=date(1980, 2, 3))
    ContactFactory(
        shopper=ShopperFactory(merchant=merchant, first_name="민준", last_name="김"), value="minjunkim@naver.com"
    )
    ContactFactory(
        shopper=ShopperFactory(merchant=other_merchant, first_name="Seoyeon", last_name="Park"),
        value="seoyeonpark@gmail.com",
    )

    # when
    pairs = _pairs(merchant)

    # then
    expected = {
        (chan, chan_again): ["name", "birthday"],
        (mohammed, mohammed_again): ["name", "phone_tail"],
        (minjun, minjun_again): ["name", "email_name"],
        (seoyeon, seoyeon_hangul): ["email"],
        (jose, jose_again): ["card", "name"],
    }
    assert {frozenset({a.pk, b.pk}): codes for (a, b), codes in expected.items()} == {
        key: pair.reason_codes for key, pair in pairs.items()
    }
    names = {pair.reasons[0].similarity for pair in pairs.values() if pair.reasons[0].code == "name"}
    assert names == {1.0}
    assert pairs[frozenset({chan.pk, chan_again.pk})].score == pytest.approx(1 - 0.4 * 0.7)
    assert pairs[frozenset({seoyeon.pk, seoyeon_hangul.pk})].score == 0.9


def test_candidates_come_surest_first(merchant):
    same_email = [ShopperFactory(merchant=merchant, first_name="Ada", last_name="Lovelace") for _ in range(2)]
    ContactFactory(shopper=same_email[0], value="ada@gmail.com")
    ContactFactory(shopper=same_email[1], value="a.d.a@gmail.com", is_verified=False)
    same_birthday = [
        ShopperFactory(merchant=merchant, first_name="Alan", last_name="Turing", birthday=date(1912, 6, 23))
        for _ in range(2)
    ]

    pairs = selectors.duplicate_candidates(merchant=merchant)

    assert [{pair.first, pair.second} for pair in pairs] == [set(same_email), set(same_birthday)]
    assert pairs[0].reason_codes == ["email", "name"]
    assert pairs[0].score > pairs[1].score


def test_duplicates_page_shows_each_reason_and_the_score(owner_client, outsider_client, merchant):
    chan = ShopperFactory(merchant=merchant, first_name="大文", last_name="陳", birthday=date(1980, 2, 3))
    ShopperFactory(merchant=merchant, first_name="大文", last_name="陈", birthday=date(1980, 2, 3))

    page = owner_client.get(reverse("profiles:duplicate_list")).content.decode()
    outsiders_page = outsider_client.get(reverse("profiles:duplicate_list")).content.decode()

    assert "name ≈ 1" in page
    assert "same birthday" in page
    assert "Score 0" in page
    assert str(chan.public_id) in page
    assert str(chan.public_id) not in outsiders_page
