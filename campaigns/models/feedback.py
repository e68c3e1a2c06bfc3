"""Answers to the one-question survey a post-purchase message links to."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from merchants.models import Store, TenantModel
from profiles.models import Purchase, Shopper


class FeedbackResponse(TenantModel):
    campaign = models.ForeignKey("campaigns.Campaign", null=True, on_delete=models.SET_NULL, related_name="+")
    shopper = models.ForeignKey(Shopper, null=True, on_delete=models.SET_NULL, related_name="feedback")
    # The message whose link was answered: one answer per message (and per purchase).
    message = models.OneToOneField(
        "campaigns.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    purchase = models.ForeignKey(Purchase, null=True, on_delete=models.SET_NULL, related_name="+")
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score = models.PositiveSmallIntegerField(validators=[MaxValueValidator(10)])
    comment = models.TextField(blank=True, max_length=2000)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["purchase"], name="feedback_once_per_purchase"),
        ]
        indexes = [models.Index(fields=["merchant", "created_at"], name="feedback_merchant_time")]

    def __str__(self) -> str:
        return f"{self.score}/10"
