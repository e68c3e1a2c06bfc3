"""Offers a campaign carries: unique coupon codes per shopper, or a card-linked offer of the loyalty app."""

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models import Offer as CardLinkedOffer
from merchants.models import Store, TenantModel
from profiles.models import Purchase, Shopper


class OfferKind(models.TextChoices):
    COUPON = "coupon", _("Unique coupon code per shopper")
    CARD_LINKED = "card_linked", _("Card-linked (applies itself)")


class Offer(TenantModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=OfferKind.choices)
    card_linked_offer = models.ForeignKey(
        CardLinkedOffer, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    description = models.CharField(max_length=300, blank=True)
    # Where the offer holds (its daily window is read in this store's timezone); none: every store.
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    amount_off_minor = models.PositiveIntegerField(default=0)
    percent_off = models.PositiveSmallIntegerField(default=0, validators=[MaxValueValidator(100)])
    free_item = models.CharField(max_length=100, blank=True)
    valid_from = models.DateTimeField()
    valid_until = models.DateTimeField()
    # Optional daily window in the store's (else the merchant's) timezone, e.g. 16:00-20:00.
    daily_start = models.TimeField(null=True, blank=True)
    daily_end = models.TimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(valid_until__gt=models.F("valid_from")),
                name="campaign_offer_ends_after_start",
                violation_error_message="The offer must end after it starts.",
            ),
            models.CheckConstraint(
                condition=models.Q(daily_start__isnull=True, daily_end__isnull=True)
                | models.Q(daily_start__isnull=False, daily_end__isnull=False),
                name="campaign_offer_daily_window_whole",
                violation_error_message="Give both ends of the daily window, or neither.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Coupon(TenantModel):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="coupons")
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="coupons")
    code = models.CharField(max_length=20)
    issued_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "code"], name="coupon_code_unique"),
            models.UniqueConstraint(fields=["offer", "shopper"], name="coupon_once_per_shopper"),
        ]

    def __str__(self) -> str:
        return self.code
