"""What is known about shoppers: identity, contacts, consent, cards, purchases, visits, rollups.

Every row carries `merchant`; every unique constraint includes it, so the
purchase table can be partitioned by month and distributed by merchant.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.constraints import TenantForeignKey
from merchants.models import Merchant, Store, TenantModel
from profiles.identity_keys import CONTACT_MATCH_KEY_SQL, NAME_KEY_SQL


class JoinedVia(models.TextChoices):
    KIOSK = "kiosk", _("Mall kiosk")
    WIFI = "wifi", _("Store Wi-Fi")
    CHECKOUT = "checkout", _("Online checkout")
    TILL = "till", _("Store till")
    IMPORT = "import", _("Import")
    API = "api", _("API")
    NETWORK = "network", _("Card network")


class ShopperStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    MERGED = "merged", _("Merged into another profile")
    ERASED = "erased", _("Erased")


class Shopper(TenantModel):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="shoppers")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    birthday = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, blank=True)
    home_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    joined_via = models.CharField(max_length=20, choices=JoinedVia.choices)
    status = models.CharField(max_length=10, choices=ShopperStatus.choices, default=ShopperStatus.ACTIVE)
    merged_into = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # The name as identity resolution compares it (profiles.identity_keys): PostgreSQL computes it on every write.
    name_key = models.GeneratedField(
        expression=RawSQL(NAME_KEY_SQL, ()),  # noqa: S611 - our constant SQL, no input
        output_field=models.CharField(max_length=201),
        db_persist=True,
    )

    class Meta:
        constraints = [
            # What keys that carry the merchant reference (core.constraints.TenantForeignKey).
            models.UniqueConstraint(fields=["merchant", "id"], name="shopper_merchant_id_key"),
        ]
        indexes = [
            models.Index(fields=["merchant", "last_name", "first_name"], name="shopper_merchant_name"),
            models.Index(fields=["merchant", "-created_at"], name="shopper_merchant_recent"),
            # Similar names (pg_trgm's % and similarity()), always asked within one merchant.
            GinIndex(OpClass(F("name_key"), name="gin_trgm_ops"), name="shopper_name_trigram"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.status == ShopperStatus.ERASED:
            return "Erased shopper"
        return f"{self.first_name} {self.last_name}".strip() or f"Shopper {str(self.public_id)[:8]}"


class ContactKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class ContactPoint(TenantModel):
    """An email address or an E.164 phone number. Verified ones identify a shopper."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="contacts")
    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    value = models.CharField(max_length=254)
    is_verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The spellings of one mailbox or number give one key (profiles.identity_keys); PostgreSQL computes it.
    match_key = models.GeneratedField(
        expression=RawSQL(CONTACT_MATCH_KEY_SQL, ()),  # noqa: S611 - our constant SQL, no input
        output_field=models.CharField(max_length=254),
        db_persist=True,
    )

    class Meta:
        constraints = [
            # Identity resolution: one verified address or number is one shopper.
            models.UniqueConstraint(
                fields=["merchant", "kind", "value"],
                condition=Q(is_verified=True),
                name="contact_verified_unique_per_merchant",
            ),
            models.UniqueConstraint(fields=["shopper", "kind", "value"], name="contact_unique_per_shopper"),
        ]
        indexes = [
            models.Index(fields=["merchant", "kind", "value"], name="contact_lookup"),
            models.Index(fields=["merchant", "kind", "match_key"], name="contact_match_key"),
        ]

    def __str__(self) -> str:
        return self.value


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class ConsentPurpose(models.TextChoices):
    MARKETING = "marketing", _("Marketing")
    FEEDBACK = "feedback", _("Feedback requests")
    PROFILING = "profiling", _("Personalisation from purchases")
    NETWORK_SHARING = "network_sharing", _("Sharing with the mall network")


class ConsentSource(models.TextChoices):
    KIOSK = "kiosk", _("Kiosk")
    API_KEY = "api_key", _("API")
    STAFF = "staff", _("Staff")
    PAGE = "page", _("Web page")
    UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")
    STOP_REPLY = "stop_reply", _("STOP reply")
    BOUNCE = "bounce", _("Email bounced")
    COMPLAINT = "complaint", _("Spam complaint")
    IMPORT = "import", _("Import")


class ConsentEvent(TenantModel):
    """Append-only. The current consent per channel and purpose is the latest event."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="consent_events")
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    purpose = models.CharField(max_length=20, choices=ConsentPurpose.choices)
    is_granted = models.BooleanField()
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    # Which kiosk, API key prefix, staff user, or page the decision was made at.
    source_ref = models.CharField(max_length=100, blank=True)
    wording_version = models.CharField(max_length=50, blank=True)
    # A decision held until the signup that made it proved its contact (SignupHold): when it took effect.
    # `occurred_at` stays when it was made; empty for a decision that took effect at once.
    took_effect_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["shopper", "channel", "purpose", "-occurred_at", "-id"], name="consent_current"),
            # Decisions recorded since a moment: how derived consent state (campaigns' segment facts) keeps up.
            models.Index(fields=["merchant", "created_at"], name="consent_recorded"),
        ]
        constraints = [models.UniqueConstraint(fields=["merchant", "id"], name="consent_event_merchant_id_key")]

    def __str__(self) -> str:
        return f"{self.channel}/{self.purpose}: {'granted' if self.is_granted else 'withdrawn'}"


class ShopperPreferences(TenantModel):
    """First-party preferences the shopper told us."""

    shopper = models.OneToOneField(Shopper, on_delete=models.CASCADE, related_name="preferences")
    sizes = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    colours = ArrayField(models.CharField(max_length=30), default=list, blank=True)
    brands = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    styles = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    favourite_categories = ArrayField(models.CharField(max_length=60), default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Preferences of {self.shopper_id}"


class CardScheme(models.TextChoices):
    VISA = "visa", "Visa"
    MASTERCARD = "mastercard", "Mastercard"
    AMEX = "amex", "American Express"
    DISCOVER = "discover", "Discover"
    JCB = "jcb", "JCB"
    UNIONPAY = "unionpay", "UnionPay"
    OTHER = "other", _("Other")


class CardStatus(models.TextChoices):
    ACTIVE = "active", _("Linked")
    UNLINKED = "unlinked", _("Unlinked")


class Card(TenantModel):
    """A linked payment card, known by the processor's token, never by its number."""

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="cards")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token = models.CharField(max_length=200, help_text=_("The processor's or network's card id."))
    # HMAC-SHA256 of the token under CARD_FINGERPRINT_KEY: recognises the same card again.
    fingerprint = models.CharField(max_length=64)
    scheme = models.CharField(max_length=20, choices=CardScheme.choices, default=CardScheme.OTHER)
    first_six = models.CharField(max_length=6, blank=True, validators=[RegexValidator(r"^\d{6}$")])
    last_four = models.CharField(max_length=4, validators=[RegexValidator(r"^\d{4}$")])
    expiry_month = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    expiry_year = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    linked_via = models.CharField(max_length=20, choices=JoinedVia.choices)
    status = models.CharField(max_length=10, choices=CardStatus.choices, default=CardStatus.ACTIVE)
    linked_at = models.DateTimeField(auto_now_add=True)
    unlinked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "fingerprint"],
                condition=Q(status="active"),
                name="card_active_fingerprint_unique_per_merchant",
            )
        ]
        indexes = [models.Index(fields=["merchant", "fingerprint"], name="card_fingerprint_lookup")]

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} ···· {self.last_four}"


class CardIdentityVia(models.TextChoices):
    ENROLMENT = "enrolment", _("Given when the card was linked")
    READER = "reader", _("Read by a kiosk's card reader")
    SAME_PAYMENT = "same_payment", _("Named together in one payment")
    STAFF = "staff", _("Confirmed by staff")


class CardIdentity(TenantModel):
    """A name a payment provider gives a linked card, within one provider account (never a card number).

    `key` is a keyed HMAC of provider, scope, kind and value together, so two identities are the same
    only when all four are: a Stripe fingerprint of one account never matches another account's.
    """

    card = models.ForeignKey(Card, on_delete=models.CASCADE, related_name="identities")
    provider = models.CharField(max_length=20)
    scope = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=64)
    linked_via = models.CharField(max_length=20, choices=CardIdentityVia.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "card identities"
        constraints = [models.UniqueConstraint(fields=["merchant", "key"], name="card_identity_unique")]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} of card {self.card_id}"


class Channel(models.TextChoices):
    IN_STORE = "in_store", _("In store")
    ONLINE = "online", _("Online")


class PurchaseSource(models.TextChoices):
    API = "api", _("API")
    NETWORK = "network", _("Card network")
    IMPORT = "import", _("Import")


class PurchaseState(models.TextChoices):
    AUTHORISED = "authorised", _("Authorised")
    CLEARED = "cleared", _("Cleared")
    REFUNDED = "refunded", _("Refunded")


class Purchase(TenantModel):
    # No single-column indexes where a composite one below leads with the column:
    # every index is paid on each insert of the one table that grows without bound.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    shopper = models.ForeignKey(
        Shopper, null=True, blank=True, on_delete=models.SET_NULL, related_name="purchases", db_index=False
    )
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    amount_minor = models.BigIntegerField(validators=[MinValueValidator(1)])
    refunded_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3)
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=PurchaseSource.choices)
    # The id the source gave: order id for api/import, transaction id for network.
    external_id = models.CharField(max_length=100)
    # The network transaction a checkout basket was matched with, or a network purchase's own id.
    network_transaction_id = models.CharField(max_length=100, null=True, blank=True)
    # The checkout order whose basket was matched onto a network purchase.
    basket_external_id = models.CharField(max_length=100, null=True, blank=True)
    state = models.CharField(max_length=12, choices=PurchaseState.choices, default=PurchaseState.CLEARED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "source", "external_id"], name="purchase_natural_key"),
            models.UniqueConstraint(
                fields=["merchant", "network_transaction_id"],
                condition=Q(network_transaction_id__isnull=False),
                name="purchase_network_transaction_unique",
            ),
            models.UniqueConstraint(
                fields=["merchant", "basket_external_id"],
                condition=Q(basket_external_id__isnull=False),
                name="purchase_basket_unique",
            ),
            models.CheckConstraint(
                condition=Q(refunded_minor__gte=0) & Q(refunded_minor__lte=models.F("amount_minor")),
                name="purchase_refund_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount_minor__gt=0), name="purchase_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "occurred_at"], name="purchase_merchant_time"),
            # Partial: a purchase with no shopper (or no card) is never looked up by it, so costs no entry.
            models.Index(
                fields=["shopper", "-occurred_at"], name="purchase_shopper_history", condition=Q(shopper__isnull=False)
            ),
            # Basket matching: unmatched purchases of one store and amount, near in time. Also every
            # read of one store's purchases (always within a merchant).
            models.Index(fields=["merchant", "store", "amount_minor", "occurred_at"], name="purchase_match"),
            # Erasure: a card's purchases forget it.
            models.Index(fields=["card"], name="purchase_card", condition=Q(card__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.amount_minor / 100:.2f} {self.currency} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.refunded_minor

    @property
    def has_basket(self) -> bool:
        return self.source != PurchaseSource.NETWORK or self.basket_external_id is not None


class LineItem(TenantModel):
    # The tenancy column: every writer copies it from the line item's purchase (an application rule; the database
    # never checked that the two agree). No constraint of its own: the purchase's foreign key holds the line item
    # to a stored purchase of a stored merchant, and checking this one too was a quarter of a batch's
    # foreign-key checks at commit. Deleting a merchant still cascades (Django collects line items).
    merchant = models.ForeignKey(
        Merchant, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="line_items")
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price_minor = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "category"], name="line_item_category")]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class VisitSource(models.TextChoices):
    WIFI = "wifi", _("Store Wi-Fi")
    GEOFENCE = "geofence", _("App geofence")
    KIOSK = "kiosk", _("Kiosk")


class Visit(TenantModel):
    shopper = models.ForeignKey(Shopper, null=True, blank=True, on_delete=models.SET_NULL, related_name="visits")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    occurred_at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=VisitSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "occurred_at"], name="visit_merchant_time"),
            models.Index(fields=["shopper", "-occurred_at"], name="visit_shopper_timeline"),
        ]
        constraints = [models.UniqueConstraint(fields=["merchant", "id"], name="visit_merchant_id_key")]

    def __str__(self) -> str:
        return f"{self.get_source_display()} visit at {self.occurred_at:%Y-%m-%d %H:%M}"


class ShopperRollup(TenantModel):
    """Per-shopper totals, kept in step with purchases in the same transaction.

    A purchase counts while it is not fully refunded; totals are net of refunds.
    """

    shopper = models.OneToOneField(Shopper, on_delete=models.CASCADE, primary_key=True, related_name="rollup")
    first_purchase_at = models.DateTimeField(null=True)
    last_purchase_at = models.DateTimeField(null=True)
    purchase_count = models.IntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    in_store_count = models.IntegerField(default=0)
    in_store_total_minor = models.BigIntegerField(default=0)
    online_count = models.IntegerField(default=0)
    online_total_minor = models.BigIntegerField(default=0)
    # The store of the latest purchase made in a store, and when it was.
    last_store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    last_store_purchase_at = models.DateTimeField(null=True)
    # When the row was last written (the database sets it on insert; every upsert sets it again): what
    # derived per-shopper figures (campaigns' scores) read to find the shoppers changed since their last pass.
    changed_at = models.DateTimeField(null=True, db_default=Now())

    class Meta:
        indexes = [
            models.Index(fields=["merchant", "changed_at"], name="rollup_changed"),
            models.Index(fields=["merchant", "last_purchase_at"], name="rollup_recency"),
            models.Index(fields=["merchant", "-total_minor"], name="rollup_top_spenders"),
        ]

    def __str__(self) -> str:
        return f"Rollup of {self.shopper_id}"


class StoreHourRollup(TenantModel):
    """Purchases per store, local day and local hour (store=None: online, in the merchant's time zone)."""

    store = models.ForeignKey(Store, null=True, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    hour = models.PositiveSmallIntegerField(validators=[MaxValueValidator(23)])
    purchase_count = models.IntegerField(default=0)
    total_minor = models.BigIntegerField(default=0)
    identified_count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "store", "day", "hour"], name="store_hour_rollup_key", nulls_distinct=False
            )
        ]

    def __str__(self) -> str:
        return f"{self.store_id} {self.day} {self.hour}h"


class MergeEvent(TenantModel):
    """One merge of two profiles: who, why, and every row that moved, so it can be undone."""

    survivor = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    merged = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()
    moved = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"Merge {self.merged_id} → {self.survivor_id}"


class ErasedContact(TenantModel):
    """An HMAC of an erased shopper's contact, so suppression still works after erasure."""

    kind = models.CharField(max_length=10, choices=ContactKind.choices)
    value_hmac = models.CharField(max_length=64)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "kind", "value_hmac"], name="erased_contact_unique"),
        ]

    def __str__(self) -> str:
        return f"erased {self.kind}"


class SignupPointKind(models.TextChoices):
    KIOSK = "kiosk", _("Mall kiosk")
    WIFI = "wifi", _("Wi-Fi portal")


class SignupPoint(TenantModel):
    """Where shoppers sign themselves up: a kiosk device in a mall, or a store's Wi-Fi captive portal.

    Its page lives at a URL carrying a random token; only the token's SHA-256 is
    stored, so the URL is shown to staff once. Revoking it closes the page at once.
    """

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=SignupPointKind.choices, default=SignupPointKind.KIOSK)
    name = models.CharField(max_length=100)
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, so staff can tell which URL is which.
    token_prefix = models.CharField(max_length=8)
    # Kiosks: whether a card reader hands the page a processor card id to link.
    has_card_reader = models.BooleanField(default=False)
    # Which provider's reader it is, and its account: a tapped card is then recognised in that provider's payments.
    card_reader_provider = models.CharField(max_length=20, blank=True)
    card_reader_account = models.CharField(max_length=100, blank=True)
    # What the shopper is promised on signing up (the welcome reward), in the merchant's words.
    welcome_message = models.CharField(max_length=300, blank=True)
    # The same promise written per language ({"ko": "…", "ar": "…"}); a language without one shows welcome_message.
    welcome_messages = models.JSONField(default=dict, blank=True)
    # Wi-Fi portals: where the shopper goes once signed up (the captive portal's continue URL).
    redirect_url = models.URLField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "-created_at"], name="signup_point_recent")]
        constraints = [models.UniqueConstraint(fields=["merchant", "id"], name="signup_point_merchant_id_key")]

    def welcome_for(self, language: str) -> str:
        """The welcome reward in the shopper's language, else the one written for every language."""
        return (self.welcome_messages or {}).get(language) or self.welcome_message

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class SignupHold(TenantModel):
    """What a signup asked of a profile it reached through a contact it has not proven, held until it does.

    Anyone can type a known email or phone at a kiosk or portal. The signup then lands on the profile that
    verified it (the page must not tell), but its consent grants, card link, names, preferences, new contacts
    and visit wait here until the person follows this signup's email link or enters its phone code for one of
    `proof_contact_ids` (contacts the profile had verified). Then they apply with their original time, source
    and wording. They expire with the link; withdrawals never wait.
    """

    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="signup_holds", db_constraint=False)
    signup_point = models.ForeignKey(
        SignupPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    source = models.CharField(max_length=20, choices=ConsentSource.choices)
    source_ref = models.CharField(max_length=100, blank=True)
    # What was asked, as typed: consents (channel, purpose, wording), names, preferences, the card read.
    request = models.JSONField(default=dict)
    # The profile's verified contacts this signup gave: proving one of them applies the hold.
    proof_contact_ids = ArrayField(models.BigIntegerField(), default=list)
    # New contacts this signup gave and proved meanwhile: verified once the hold applies.
    proven_contact_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # The visit, counted at once without a shopper, and given to the profile once the hold applies.
    visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    requested_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    # What could not be applied, in words for staff (a card linked to someone else meanwhile…).
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["shopper", "-requested_at"], name="signup_hold_shopper")]
        constraints = [
            TenantForeignKey(field="shopper", name="signup_hold_shopper_same_merchant"),
            TenantForeignKey(field="signup_point", name="signup_hold_point_same_merchant"),
            TenantForeignKey(field="visit", name="signup_hold_visit_same_merchant"),
        ]

    def __str__(self) -> str:
        return f"Signup held for {self.shopper_id} since {self.requested_at:%Y-%m-%d %H:%M}"

    @property
    def held_consents(self) -> list[dict[str, str]]:
        return list(self.request.get("consents", []))

    @property
    def has_card(self) -> bool:
        return bool(self.request.get("card"))

    @property
    def is_waiting(self) -> bool:
        return self.applied_at is None and self.expires_at > timezone.now()
