"""The one-question survey a post-purchase message links to."""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone

from campaigns.feedback.services import FEEDBACK_LINK_MAX_AGE
from campaigns.links import FEEDBACK_SALT, feedback_url
from campaigns.models import CampaignKind, FeedbackResponse, Trigger
from tests.campaigns.factories import AssignmentFactory, CampaignFactory, OutboxMessageFactory
from tests.factories import StoreFactory
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def purchase(merchant):
    store = StoreFactory(merchant=merchant, name="Harbour")
    shopper = ShopperFactory(merchant=merchant, language="en")
    return PurchaseFactory(merchant=merchant, shopper=shopper, store=store, channel="in_store")


@pytest.fixture
def message(merchant, purchase):
    campaign = CampaignFactory(merchant=merchant, kind=CampaignKind.REALTIME, trigger=Trigger.FEEDBACK_REQUEST)
    assignment = AssignmentFactory(
        campaign=campaign,
        shopper=purchase.shopper,
        dedupe_key=f"purchase:{purchase.pk}",
        assigned_at=purchase.occurred_at + timedelta(seconds=5),
    )
    return OutboxMessageFactory(assignment=assignment, status="sent")


@pytest.fixture
def survey(message, path_of):
    return path_of(feedback_url(message_id=message.pk, language="en"))


def test_the_survey_asks_one_question(client, survey, merchant):
    response = client.get(survey)

    assert response.status_code == 200
    page = response.content.decode()
    assert f"How likely are you to recommend {merchant.name} to a friend?" in page
    assert page.count('type="radio" name="score"') == 11


def test_an_answer_is_recorded_against_the_purchase_and_its_store(client, survey, message, purchase):
    response = client.post(survey, {"score": "9", "comment": "  Lovely staff  ", "lang": "en"})

    assert response.status_code == 200
    assert "Thank you for your answer!" in response.content.decode()
    answer = FeedbackResponse.all_merchants.get()
    assert (answer.score, answer.comment, answer.language) == (9, "Lovely staff", "en")
    assert (answer.purchase, answer.store, answer.shopper, answer.campaign) == (
        purchase,
        purchase.store,
        purchase.shopper,
        message.campaign,
    )


def test_a_second_answer_for_the_same_purchase_is_refused(client, survey):
    client.post(survey, {"score": "9", "lang": "en"})

    again = client.post(survey, {"score": "2", "lang": "en"})

    assert again.status_code == 409
    assert "already answered" in again.content.decode()
    assert list(FeedbackResponse.all_merchants.values_list("score", flat=True)) == [9]
    # Opening the link again shows the thanks, not the question.
    assert "already answered" in client.get(survey).content.decode()


def test_a_missing_score_is_shown_on_the_form(client, survey):
    response = client.post(survey, {"score": "", "comment": "hmm", "lang": "en"})

    assert response.status_code == 400
    assert "Choose a score from 0 to 10." in response.content.decode()
    assert not FeedbackResponse.all_merchants.exists()


def test_out_of_range_score_is_refused(client, survey):
    response = client.post(survey, {"score": "11", "lang": "en"})

    assert response.status_code == 400
    assert not FeedbackResponse.all_merchants.exists()


def test_an_expired_link_is_410(client, message, settings):
    token = signing.dumps({"m": message.pk}, salt=FEEDBACK_SALT)
    signer = signing.TimestampSigner(salt=FEEDBACK_SALT)
    # Re-sign the same payload as it would have been made longer ago than the link lives.
    old = timezone.now() - FEEDBACK_LINK_MAX_AGE - timedelta(minutes=1)
    signer.timestamp = lambda: signing.b62_encode(int(old.timestamp()))  # type: ignore[method-assign]
    expired = signer.sign_object({"m": message.pk}, compress=False)
    assert token != expired

    response = client.get(f"/s/c/feedback/{expired}/?lang=en")

    assert response.status_code == 410
    assert "This link has expired." in response.content.decode()


def test_a_tampered_link_is_404(client, message):
    token = signing.dumps({"m": message.pk}, salt=FEEDBACK_SALT)

    response = client.get(f"/s/c/feedback/{token[:-2]}xx/")

    assert response.status_code == 404
    assert not FeedbackResponse.all_merchants.exists()


def test_an_offer_link_does_not_open_the_survey(client, message, path_of):
    from campaigns.links import offer_url

    token = path_of(offer_url(message_id=message.pk)).split("/")[-2]
    assert client.get(f"/s/c/feedback/{token}/").status_code == 404


@pytest.mark.parametrize(
    ("language", "question"),
    [("ko", "친구에게"), ("zh-hant", "推薦"), ("ar", "توصي")],
)
def test_the_survey_speaks_the_shoppers_language(client, message, path_of, language, question):
    message.shopper.language = language
    message.shopper.save()

    response = client.get(path_of(feedback_url(message_id=message.pk)))

    assert response["Content-Language"] == language
    assert question in response.content.decode()
    if language == "ar":
        assert 'dir="rtl"' in response.content.decode()


def test_the_answer_keeps_the_language_it_was_given_in(client, message, path_of):
    client.post(path_of(feedback_url(message_id=message.pk, language="ko")), {"score": "7", "lang": "ko"})

    assert FeedbackResponse.all_merchants.get().language == "ko"


def test_posts_are_rate_limited(client, survey, settings):
    settings.SHOPPER_RATE_LIMITS = {**settings.SHOPPER_RATE_LIMITS, "ip": "2/hour"}
    client.post(survey, {"score": "", "lang": "en"})
    client.post(survey, {"score": "", "lang": "en"})

    response = client.post(survey, {"score": "8", "lang": "en"})

    assert response.status_code == 429
    assert not FeedbackResponse.all_merchants.exists()


def test_an_erased_shoppers_link_no_longer_opens(client, survey, message):
    message.shopper.status = "erased"
    message.shopper.save()

    assert client.get(survey).status_code == 404
    assert client.post(survey, {"score": "9", "lang": "en"}).status_code == 404
    assert not FeedbackResponse.all_merchants.exists()
