"""Recording a shopper's answer to the post-purchase survey."""

import re
from datetime import datetime, timedelta

from django.core import signing
from django.db import IntegrityError, transaction

from campaigns.links import FEEDBACK_SALT, OFFER_SALT
from campaigns.models import FeedbackResponse, OutboxMessage
from core.errors import ApplicationError, ConflictError
from profiles.links import LinkError
from profiles.models import Purchase

# A survey link works this long after the message was made; an offer link as long as its offer lives.
FEEDBACK_LINK_MAX_AGE = timedelta(days=30)


def _message_id(token: str, *, salt: str, max_age: timedelta | None) -> int:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
        return int(payload["m"])
    except signing.SignatureExpired as error:
        raise LinkError("This link has expired.", code="link_expired") from error
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise LinkError("This link is not valid.", code="link_invalid") from error


def feedback_link_message(token: str) -> OutboxMessage:
    """The message a survey link was sent in; LinkError if expired, forged or the message is gone."""
    message_id = _message_id(token, salt=FEEDBACK_SALT, max_age=FEEDBACK_LINK_MAX_AGE)
    message = (  # the signed link decides the merchant
        OutboxMessage.all_merchants.select_related("merchant", "shopper", "campaign", "assignment")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise LinkError("This link is not valid.", code="link_invalid")
    return message


def offer_link_message(token: str) -> OutboxMessage:
    """The message an offer link was sent in; whether its offer still shows is the offer's own window."""
    message_id = _message_id(token, salt=OFFER_SALT, max_age=None)
    message = (  # the signed link decides the merchant
        OutboxMessage.all_merchants.select_related(
            "merchant", "shopper", "campaign__offer__store", "campaign__offer__card_linked_offer", "coupon"
        )
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise LinkError("This link is not valid.", code="link_invalid")
    return message


_PURCHASE_KEY = re.compile(r"^(?:purchase[:-])?(\d+)$")


def feedback_purchase(message: OutboxMessage) -> Purchase | None:
    """The purchase a feedback request was about: the one its dedupe key names ("purchase:<id>" or
    "<id>"), else the shopper's last purchase before the request was decided."""
    purchases = Purchase.objects.filter(merchant_id=message.merchant_id, shopper_id=message.shopper_id)
    match = _PURCHASE_KEY.match(message.dedupe_key)
    if match:
        named = purchases.filter(pk=int(match.group(1))).first()
        if named is not None:
            return named
    return purchases.filter(occurred_at__lte=message.assignment.assigned_at).order_by("-occurred_at").first()


@transaction.atomic
def feedback_record(
    *, message: OutboxMessage, score: int, comment: str, language: str, at: datetime | None = None
) -> FeedbackResponse:
    """The shopper's answer: once per message and per purchase (ConflictError for a second one)."""
    if not 0 <= score <= 10:
        raise ApplicationError("Choose a score from 0 to 10.", code="invalid_score", field="score")
    if FeedbackResponse.objects.filter(message=message).exists():
        raise ConflictError("You have already answered. Thank you!", code="feedback_already_given")
    purchase = feedback_purchase(message)
    try:
        with transaction.atomic():
            return FeedbackResponse.objects.create(
                merchant_id=message.merchant_id,
                campaign_id=message.campaign_id,
                shopper_id=message.shopper_id,
                message=message,
                purchase=purchase,
                store_id=purchase.store_id if purchase is not None else None,
                score=score,
                comment=comment.strip()[:2000],
                language=language,
            )
    except IntegrityError as error:
        raise ConflictError("You have already answered. Thank you!", code="feedback_already_given") from error
