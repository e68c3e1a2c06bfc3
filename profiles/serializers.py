"""API input and output shapes. Input serializers parse only; services decide."""

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.errors import ApplicationError
from core.serializers import AwareDateTimeField, LeanFieldCopies, StrictInputSerializer
from merchants import request_cache
from merchants.models import Store
from profiles.models import (
    Card,
    CardScheme,
    Channel,
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ContactKind,
    JoinedVia,
    PurchaseSource,
    PurchaseState,
    Shopper,
    VisitSource,
)
from profiles.services.purchases import LineItemInput, PurchaseInput
from profiles.services.shoppers import (
    CardInput,
    ConsentInput,
    ContactInput,
    ShopperInput,
    normalize_email,
    normalize_phone,
)

# How far ahead of our clock a purchase's time may be: a till's clock runs a little fast.
CLOCK_SKEW = timedelta(minutes=10)


@extend_schema_field(OpenApiTypes.INT)
class MerchantScopedStoreField(serializers.PrimaryKeyRelatedField):
    """A store id of the calling merchant; another merchant's id reads as unknown."""

    default_error_messages = {"does_not_exist": "No store with id {pk_value}."}

    def get_queryset(self) -> Any:
        return Store.objects.for_merchant(self.context["merchant"])

    def to_internal_value(self, data: Any) -> Any:
        # A batch looks its stores up once (context["stores"]: id -> Store), not once per row.
        # A single request reads it through the short-lived cache every API request shares.
        try:
            if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
                raise TypeError
            store_id = int(data)
        except (TypeError, ValueError):
            self.fail("incorrect_type", data_type=type(data).__name__)
        stores = self.context.get("stores")
        if stores is not None:
            store = stores.get(store_id)
        else:
            store = request_cache.store_for_merchant(merchant=self.context["merchant"], store_id=store_id)
        if store is None:
            self.fail("does_not_exist", pk_value=data)
        return store


@extend_schema_field(OpenApiTypes.UUID)
class MerchantScopedShopperField(serializers.SlugRelatedField):
    default_error_messages = {"does_not_exist": "No shopper with id {value}."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(slug_field="public_id", **kwargs)

    def get_queryset(self) -> Any:
        return Shopper.objects.for_merchant(self.context["merchant"]).exclude(status="erased")


class ConsentInputSerializer(StrictInputSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    wording_version = serializers.CharField(max_length=50, required=False, default="", allow_blank=True)

    def to_internal_value(self, data: Any) -> ConsentInput:
        values = super().to_internal_value(data)
        return ConsentInput(
            channel=values["channel"],
            purpose=values["purpose"],
            is_granted=values["granted"],
            wording_version=values["wording_version"],
        )


class CardInputSerializer(StrictInputSerializer):
    id = serializers.CharField(max_length=200, help_text="The payment provider's card id (token). Never the number.")
    scheme = serializers.ChoiceField(choices=CardScheme.choices, required=False, default=CardScheme.OTHER)
    first_six = serializers.RegexField(r"^(\d{6})?$", required=False, default="", allow_blank=True)
    last_four = serializers.RegexField(r"^\d{4}$")
    expiry_month = serializers.IntegerField(min_value=1, max_value=12, required=False, allow_null=True, default=None)
    expiry_year = serializers.IntegerField(
        min_value=2000, max_value=2100, required=False, allow_null=True, default=None
    )

    def to_internal_value(self, data: Any) -> CardInput:
        values = super().to_internal_value(data)
        return CardInput(
            token=values["id"],
            scheme=values["scheme"],
            first_six=values["first_six"],
            last_four=values["last_four"],
            expiry_month=values["expiry_month"],
            expiry_year=values["expiry_year"],
        )


class PreferencesSerializer(StrictInputSerializer):
    sizes = serializers.ListField(child=serializers.CharField(max_length=30), required=False, max_length=20)
    colours = serializers.ListField(child=serializers.CharField(max_length=30), required=False, max_length=20)
    brands = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)
    styles = serializers.ListField(child=serializers.CharField(max_length=60), required=False, max_length=20)
    favourite_categories = serializers.ListField(
        child=serializers.CharField(max_length=60), required=False, max_length=20
    )


class ShopperInputSerializer(StrictInputSerializer):
    first_name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    email_verified = serializers.BooleanField(
        required=False, default=False, help_text="True when your checkout has confirmed the address."
    )
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    phone_verified = serializers.BooleanField(required=False, default=False)
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="", allow_blank=True)
    home_store = MerchantScopedStoreField(required=False, allow_null=True, default=None)
    joined_via = serializers.ChoiceField(choices=JoinedVia.choices, required=False, default=JoinedVia.CHECKOUT)
    consents = ConsentInputSerializer(many=True, required=False, default=list)
    preferences = PreferencesSerializer(required=False, default=dict)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        contacts = []
        errors: dict[str, list[str]] = {}
        if attrs["email"]:
            try:
                contacts.append(
                    ContactInput(ContactKind.EMAIL, normalize_email(attrs["email"]), attrs["email_verified"])
                )
            except ApplicationError as error:
                errors["email"] = [error.message]
        if attrs["phone"]:
            try:
                contacts.append(
                    ContactInput(
                        ContactKind.PHONE,
                        normalize_phone(attrs["phone"]),
                        attrs["phone_verified"],
                    )
                )
            except ApplicationError as error:
                errors["phone"] = [error.message]
        if errors:
            raise serializers.ValidationError(errors)
        attrs["shopper"] = ShopperInput(
            first_name=attrs["first_name"],
            last_name=attrs["last_name"],
            birthday=attrs["birthday"],
            language=attrs["language"],
            home_store=attrs["home_store"],
            joined_via=attrs["joined_via"],
            contacts=tuple(contacts),
        )
        return attrs


class ShopperCreateSerializer(ShopperInputSerializer):
    card = CardInputSerializer(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if not (attrs["shopper"].contacts or attrs["card"] or attrs["first_name"] or attrs["last_name"]):
            raise serializers.ValidationError("Send at least an email, a phone, a card or a name.")
        return attrs


class CardEnrollSerializer(StrictInputSerializer):
    card = CardInputSerializer()
    shopper_id = MerchantScopedShopperField(required=False, allow_null=True, default=None)
    shopper = ShopperInputSerializer(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["shopper_id"] is None and attrs["shopper"] is None:
            raise serializers.ValidationError({"shopper": ["Send `shopper_id` or the shopper's details."]})
        return attrs


class LineItemSerializer(StrictInputSerializer):
    sku = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=100, required=False, default="", allow_blank=True)
    quantity = serializers.IntegerField(min_value=1, max_value=100_000, required=False, default=1)
    unit_price_minor = serializers.IntegerField(min_value=0, max_value=10**12)


class PurchaseInputSerializer(StrictInputSerializer):
    external_id = serializers.CharField(max_length=100, help_text="Your order id: a purchase is stored once per id.")
    amount_minor = serializers.IntegerField(min_value=1, max_value=10**12, help_text="In minor units (cents).")
    currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217, the merchant's currency.")
    occurred_at = AwareDateTimeField()
    channel = serializers.ChoiceField(choices=Channel.choices)
    store = MerchantScopedStoreField(required=False, allow_null=True, default=None)
    shopper_id = MerchantScopedShopperField(required=False, allow_null=True, default=None)
    card_id = serializers.CharField(
        max_length=200, required=False, allow_null=True, default=None, help_text="The provider's card id (token)."
    )
    line_items = LineItemSerializer(many=True, required=False, default=list, max_length=500)

    def validate_occurred_at(self, value: Any) -> Any:
        if value > datetime.now(UTC) + CLOCK_SKEW:  # timezone.now(), without its settings read per row
            raise serializers.ValidationError("A purchase cannot be in the future.")
        return value

    def to_internal_value(self, data: Any) -> PurchaseInput:
        values = super().to_internal_value(data)
        return PurchaseInput(
            external_id=values["external_id"],
            amount_minor=values["amount_minor"],
            currency=values["currency"],
            occurred_at=values["occurred_at"],
            channel=values["channel"],
            store=values["store"],
            shopper=values["shopper_id"],
            card_token=values["card_id"],
            state=PurchaseState.CLEARED,
            line_items=tuple(LineItemInput(**item) for item in values["line_items"]),
        )


class RefundInputSerializer(StrictInputSerializer):
    amount_minor = serializers.IntegerField(
        min_value=1, required=False, allow_null=True, default=None, help_text="Leave out to refund what remains."
    )


class VisitInputSerializer(StrictInputSerializer):
    store = MerchantScopedStoreField()
    occurred_at = AwareDateTimeField()
    source = serializers.ChoiceField(choices=VisitSource.choices)
    shopper_id = MerchantScopedShopperField(required=False, allow_null=True, default=None)
    card_id = serializers.CharField(max_length=200, required=False, allow_null=True, default=None)


class ConsentChangeSerializer(StrictInputSerializer):
    consents = ConsentInputSerializer(many=True, min_length=1)


# Output


class CardOutputSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="public_id")

    class Meta:
        model = Card
        fields = ["id", "scheme", "first_six", "last_four", "expiry_month", "expiry_year", "status", "linked_at"]


class ShopperOutputSerializer(serializers.ModelSerializer):
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
    shopper_id = serializers.UUIDField(source="shopper.public_id", allow_null=True, default=None)
    amount_minor = serializers.IntegerField()
    refunded_minor = serializers.IntegerField()
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()


class BatchInputSerializer(StrictInputSerializer):
    purchases = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000)


class BatchRowOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["created", "duplicate", "basket_matched", "error"])
    purchase_id = serializers.UUIDField(allow_null=True)
    error = serializers.DictField(allow_null=True)


class BatchOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    errors = serializers.IntegerField()
    results = BatchRowOutputSerializer(many=True)


class ConsentEventOutputSerializer(serializers.ModelSerializer):
    granted = serializers.BooleanField(source="is_granted")

    class Meta:
        model = ConsentEvent
        fields = ["channel", "purpose", "granted", "occurred_at", "source", "source_ref", "wording_version"]


class ConsentsOutputSerializer(serializers.Serializer):
    current = ConsentEventOutputSerializer(many=True)
    history = ConsentEventOutputSerializer(many=True)


class VisitOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    store = serializers.IntegerField(source="store_id")
    occurred_at = serializers.DateTimeField()
    source = serializers.CharField()
    shopper_id = serializers.UUIDField(source="shopper.public_id", allow_null=True, default=None)
