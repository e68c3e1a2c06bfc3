"""API output shapes. What the API accepts is in profiles.api_input."""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.serializers import ErrorDetailSerializer, LeanFieldCopies
from profiles import expansions
from profiles.models import (
    Card,
    Channel,
    ConsentEvent,
    ContactKind,
    PurchaseSource,
    PurchaseState,
    Shopper,
    ShopperPreferences,
)


@extend_schema_field(OpenApiTypes.UUID)
class MerchantScopedShopperField(serializers.SlugRelatedField):
    """A shopper id of the calling merchant, for DRF input serializers (loyalty's redemptions)."""

    default_error_messages = {"does_not_exist": "No shopper with id {value}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="public_id", **kwargs)

    def get_queryset(self) -> Any:
        return Shopper.objects.for_merchant(self.context["merchant"]).exclude(status="erased")


# Output

# An unknown card is no error (a shopper may pay with a card they never linked), but a client must not take
# the stored purchase for a match.
ANONYMOUS_PURCHASE_NOTE = (
    "Stored as an anonymous purchase: neither a `shopper_id` nor the `card_id` of a card linked to a shopper "
    "was given, so it is on no shopper's profile (it still counts in the store's figures). Link the card "
    "(POST /api/v1/cards) so that its later purchases reach the shopper."
)


class CardOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Card
        fields = ["id", "scheme", "first_six", "last_four", "expiry_month", "expiry_year", "status", "linked_at"]


class _ExpandedPart(serializers.Field):
    """A part of the shopper given with `?expand=` (profiles.expansions), loaded by the view for the whole page."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, shopper: Shopper) -> Any:
        return self.context["expanded"][self.field_name][shopper.pk]


class ShopperOutputSerializer(serializers.ModelSerializer):
    """The shopper; the parts named in the context's `expand` are added (see ShopperExpandableOutputSerializer)."""

    id = serializers.UUIDField(source="public_id")
    emails = serializers.SerializerMethodField()
    phones = serializers.SerializerMethodField()
    cards = serializers.SerializerMethodField()

    class Meta:
        model = Shopper
        fields = [
            "id",
            "first_name",
            "last_name",
            "birthday",
            "language",
            "home_store",
            "joined_via",
            "status",
            "emails",
            "phones",
            "cards",
            "created_at",
        ]

    def _contacts(self, shopper: Shopper, kind: str) -> list[dict[str, Any]]:
        return [
            {"value": contact.value, "verified": contact.is_verified}
            for contact in shopper.contacts.all()
            if contact.kind == kind
        ]

    def get_emails(self, shopper: Shopper) -> list[dict[str, Any]]:
        return self._contacts(shopper, ContactKind.EMAIL)

    def get_phones(self, shopper: Shopper) -> list[dict[str, Any]]:
        return self._contacts(shopper, ContactKind.PHONE)

    def get_cards(self, shopper: Shopper) -> list[dict[str, Any]]:
        return CardOutputSerializer([c for c in shopper.cards.all() if c.status == "active"], many=True).data

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for name in self.context.get("expand", ()):
            fields[name] = _ExpandedPart()
        return fields


class ShopperExpandableOutputSerializer(ShopperOutputSerializer):
    """The shopper object as documented: every part `expand` can add, each present only when asked for."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        for expansion in expansions.registered():
            # Not read-only: the schema would call a read-only field required, and these are there only when asked.
            fields[expansion.name] = expansion.schema(
                many=expansion.many, required=False, help_text=expansion.description
            )
        return fields


class ShopperMatchOutputSerializer(serializers.Serializer):
    shopper = ShopperOutputSerializer()
    created = serializers.BooleanField()
    matched_by = serializers.CharField(allow_null=True)


class CardEnrollOutputSerializer(serializers.Serializer):
    card = CardOutputSerializer()
    shopper = ShopperOutputSerializer()


class PurchaseOutputSerializer(LeanFieldCopies, serializers.Serializer):
    # A plain Serializer: it is on the ingest hot path, where ModelSerializer's field introspection shows.
    id = serializers.UUIDField(source="public_id")
    external_id = serializers.CharField()
    source = serializers.ChoiceField(choices=PurchaseSource.choices)
    state = serializers.ChoiceField(choices=PurchaseState.choices)
    channel = serializers.ChoiceField(choices=Channel.choices)
    store = serializers.IntegerField(source="store_id", allow_null=True)
    shopper_id = serializers.UUIDField(
        source="shopper.public_id",
        allow_null=True,
        default=None,
        help_text="The shopper the purchase landed on; null for an anonymous purchase (see `note`).",
    )
    card_linked = serializers.SerializerMethodField(
        help_text="True when `card_id` named a card linked to a shopper; false for an unknown or unlinked card, "
        "or none."
    )
    note = serializers.SerializerMethodField(
        help_text="Why the purchase has no shopper, when it has none; else null.",
    )
    amount_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_card_linked(self, purchase: Any) -> bool:
        return purchase.card_id is not None

    @extend_schema_field({"type": "string", "nullable": True})
    def get_note(self, purchase: Any) -> str | None:
        if purchase.shopper_id is not None:
            return None
        return ANONYMOUS_PURCHASE_NOTE


class BatchRowOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "basket_matched", "error"])
    purchase_id = serializers.UUIDField(allow_null=True)
    error = ErrorDetailSerializer(
        allow_null=True, help_text="The row's error, shaped as the API's errors; null when stored."
    )


class BatchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = BatchRowOutputSerializer(many=True)


class ConsentEventOutputSerializer(serializers.ModelSerializer):
    granted = serializers.BooleanField(source="is_granted")

    class Meta:
        model = ConsentEvent
        fields = [
            "channel",
            "purpose",
            "granted",
            "occurred_at",
            "source",
            "source_ref",
            "wording_version",
            "took_effect_at",
        ]


class ConsentCurrentOutputSerializer(serializers.ModelSerializer):
    """A consent as it holds now (the latest decision of its channel and purpose)."""

    granted = serializers.BooleanField(source="is_granted")

    class Meta:
        model = ConsentEvent
        fields = ["channel", "purpose", "granted", "occurred_at", "source"]


class PreferencesOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ShopperPreferences
        fields = ["sizes", "colours", "brands", "styles", "favourite_categories"]


class ConsentsOutputSerializer(serializers.Serializer):
    current = ConsentEventOutputSerializer(many=True)
    history = ConsentEventOutputSerializer(many=True)


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.IntegerField(source="store_id")
    occurred_at = serializers.DateTimeField()
    source = serializers.CharField()
    shopper_id = serializers.UUIDField(source="shopper.public_id", allow_null=True, default=None)
