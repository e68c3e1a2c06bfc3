"""Loyalty: a program per merchant, its earn rules, tiers, rewards, offers and the points ledger.

The ledger (`LedgerEntry`) is the truth and is only ever appended to. `Account`
keeps the shopper's balance as a cache of it, changed with F() in the same
transaction as the entries, so that a redemption can take the balance with one
conditional UPDATE; a scheduled reconciliation compares the two.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant, Store, TenantModel
from profiles.models import Channel, Purchase, Shopper


class ProgramKind(models.TextChoices):
    POINTS = "points", _("Points")
    STAMPS = "stamps", _("Visit stamps")


class Rounding(models.TextChoices):
    DOWN = "down", _("Round down")
    NEAREST = "nearest", _("Round to nearest")
    UP = "up", _("Round up")


class ExpiryPolicy(models.TextChoices):
    NEVER = "never", _("Never")
    DAYS_AFTER_EARNING = "days_after_earning", _("N days after earning")
    END_OF_YEAR = "end_of_year", _("At the end of the year they were earned")
    INACTIVITY = "inactivity", _("After N months without a purchase")


class TierBasis(models.TextChoices):
    SPEND = "spend", _("Qualifying spend, last 12 months")
    POINTS = "points", _("Points earned, last 12 months")


class Program(TenantModel):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="loyalty_program")
    name = models.CharField(_("display name"), max_length=100)
    kind = models.CharField(max_length=10, choices=ProgramKind.choices, default=ProgramKind.POINTS)
    # Base rate: `points_per_unit` points for every `unit_minor` spent (e.g. 1 point per 100 cents).
    points_per_unit = models.PositiveIntegerField(default=1, validators=[MinValueValidator(1)])
    unit_minor = models.PositiveIntegerField(default=100, validators=[MinValueValidator(1)])
    rounding = models.CharField(max_length=10, choices=Rounding.choices, default=Rounding.DOWN)
    # What one point is worth to the shopper, in minor units of the merchant's currency: liability and breakage.
    point_value_minor = models.DecimalField(
        max_digits=10, decimal_places=4, default=1, validators=[MinValueValidator(0)]
    )
    minimum_spend_minor = models.PositiveIntegerField(
        default=0, help_text=_("Purchases below this amount earn nothing.")
    )
    expiry_policy = models.CharField(max_length=20, choices=ExpiryPolicy.choices, default=ExpiryPolicy.NEVER)
    expiry_days = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    inactivity_months = models.PositiveIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    tier_basis = models.CharField(max_length=10, choices=TierBasis.choices, default=TierBasis.SPEND)
    tier_grace_days = models.PositiveIntegerField(
        default=30, help_text=_("How long a shopper keeps a tier they no longer qualify for.")
    )
    is_active = models.BooleanField(default=True)
    # Bumped by every change to rules, tiers or offers: the per-process cache of them is keyed by it.
    rules_version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(expiry_policy="days_after_earning") | Q(expiry_days__isnull=False),
                name="program_expiry_days_given",
                violation_error_message="Give the number of days after which points expire.",
            ),
            models.CheckConstraint(
                condition=~Q(expiry_policy="inactivity") | Q(inactivity_months__isnull=False),
                name="program_inactivity_months_given",
                violation_error_message="Give the months without a purchase after which points expire.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    CATEGORY = "category", _("Category multiplier")
    SKU = "sku", _("Product (SKU) multiplier")
    STORE = "store", _("Store-specific")
    CHANNEL = "channel", _("Channel")
    TIME_WINDOW = "time_window", _("Time window")
    SPEND_BONUS = "spend_bonus", _("Minimum-spend bonus")


class EarnRule(TenantModel):
    """Extra points on top of the program's base rate, for the part of a purchase the rule concerns.

    A multiplier of 2 doubles the base points of what matches (the rule adds the second half);
    `bonus_points` are added once per matching purchase. `cap_points` limits what one shopper
    may ever earn from this rule.
    """

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=RuleKind.choices)
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=2, default=1, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    bonus_points = models.PositiveIntegerField(default=0)
    category = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    first_in_channel = models.BooleanField(
        default=False, help_text=_("Only the shopper's first purchase in this channel.")
    )
    # ISO weekdays, 1 = Monday … 7 = Sunday; empty = every day. Hours in the store's time zone.
    weekdays = ArrayField(models.PositiveSmallIntegerField(), default=list, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    end_time = models.TimeField(null=True, blank=True)
    minimum_spend_minor = models.PositiveIntegerField(default=0)
    cap_points = models.PositiveIntegerField(null=True, blank=True, help_text=_("Most one shopper earns from it."))
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["program", "is_active"], name="rule_program_active")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="category") | ~Q(category=""),
                name="rule_category_given",
                violation_error_message="A category rule needs its category.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="sku") | ~Q(sku=""),
                name="rule_sku_given",
                violation_error_message="A product rule needs its SKU.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="store") | Q(store__isnull=False),
                name="rule_store_given",
                violation_error_message="A store rule needs its store.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="channel") | ~Q(channel=""),
                name="rule_channel_given",
                violation_error_message="A channel rule needs its channel.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="time_window") | (Q(start_time__isnull=False) & Q(end_time__isnull=False)),
                name="rule_window_given",
                violation_error_message="A time-window rule needs a start and an end time.",
            ),
            models.CheckConstraint(
                condition=Q(multiplier__gt=1) | Q(bonus_points__gt=0),
                name="rule_gives_something",
                violation_error_message="Give a multiplier above 1 or some bonus points.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Tier(TenantModel):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(max_length=50)
    # Minor units of spend, or points, over the last 12 months (the program's tier basis).
    threshold = models.PositiveBigIntegerField()
    earn_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )
    benefits = models.TextField(blank=True)

    class Meta:
        ordering = ["threshold"]
        constraints = [
            models.UniqueConstraint(fields=["program", "threshold"], name="tier_threshold_unique"),
            models.UniqueConstraint(fields=["program", "name"], name="tier_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name


class Account(TenantModel):
    """A shopper's membership: the balance row every change of points goes through."""

    # Both covered: merchant by the enrolments index, program is one per merchant.
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="accounts", db_index=False)
    shopper = models.OneToOneField(Shopper, on_delete=models.CASCADE, related_name="loyalty_account")
    points_balance = models.BigIntegerField(default=0)
    points_pending = models.BigIntegerField(default=0)
    tier = models.ForeignKey(Tier, null=True, blank=True, on_delete=models.SET_NULL, related_name="accounts")
    tier_since = models.DateTimeField(null=True, blank=True)
    # Set when the shopper stopped qualifying for their tier; they keep it until then.
    tier_review_at = models.DateTimeField(null=True, blank=True)
    enrolled_at = models.DateTimeField()
    enrolled_via = models.CharField(max_length=20)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "enrolled_at"], name="account_enrolments")]

    def __str__(self) -> str:
        return f"Account of shopper {self.shopper_id}"


class Bucket(models.TextChoices):
    AVAILABLE = "available", _("Available")
    PENDING = "pending", _("Pending clearing")


class Reason(models.TextChoices):
    EARN = "earn", _("Purchase")
    RULE = "rule", _("Earn rule")
    TIER = "tier", _("Tier bonus")
    OFFER = "offer", _("Card-linked offer")
    PARTNER = "partner", _("Partner purchase")
    CLEARING = "clearing", _("Purchase cleared")
    REFUND = "refund", _("Purchase refunded")
    REDEMPTION = "redemption", _("Redemption")
    REDEMPTION_REVERSAL = "redemption_reversal", _("Redemption reversed")
    EXPIRY = "expiry", _("Expiry")
    ADJUSTMENT = "adjustment", _("Staff adjustment")
    MERGE = "merge", _("Profiles merged")
    IMPORT = "import", _("Opening balance imported")


# Reasons that count as earning (tiers on points, breakage, liability trend).
EARNING_REASONS = (Reason.EARN, Reason.RULE, Reason.TIER, Reason.OFFER, Reason.PARTNER)


class LedgerEntry(TenantModel):
    """Append-only: one signed movement of points in one bucket, and why.

    Clearing moves points between buckets with two entries (pending −n, available +n).
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="entries", db_index=False)
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    points = models.BigIntegerField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    # Spend that counts toward tiers (negative on refunds).
    qualifying_spend_minor = models.BigIntegerField(default=0)
    purchase = models.ForeignKey(Purchase, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # Mostly empty: indexed only where set (see Meta), so writing an entry touches fewer indexes.
    rule = models.ForeignKey(
        EarnRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    redemption = models.ForeignKey(
        "Redemption", null=True, blank=True, on_delete=models.SET_NULL, related_name="entries", db_index=False
    )
    offer = models.ForeignKey(
        "Offer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    note = models.CharField(max_length=300, blank=True)
    # When these points lapse under the program's expiry policy (credits only).
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["account", "created_at"], name="ledger_account_time"),
            models.Index(fields=["merchant", "created_at"], name="ledger_merchant_time"),
            models.Index(fields=["rule", "account"], name="ledger_rule_account", condition=Q(rule__isnull=False)),
            models.Index(fields=["redemption"], name="ledger_redemption", condition=Q(redemption__isnull=False)),
            models.Index(fields=["offer"], name="ledger_offer", condition=Q(offer__isnull=False)),
            models.Index(fields=["actor"], name="ledger_actor", condition=Q(actor__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.bucket} ({self.reason})"


class PurchaseEarning(TenantModel):
    """What one purchase earned, and the purchase state it was last settled against.

    Clearing and refunds change the purchase without a signal; the settlement
    compares the purchase with what is recorded here and books the difference.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    purchase = models.OneToOneField(Purchase, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    earned_amount_minor = models.BigIntegerField()
    points_earned = models.BigIntegerField()
    points_held = models.BigIntegerField()
    bucket = models.CharField(max_length=10, choices=Bucket.choices)
    seen_amount_minor = models.BigIntegerField()
    seen_refunded_minor = models.BigIntegerField(default=0)
    is_open = models.BooleanField(default=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["merchant", "created_at"], name="earning_open", condition=Q(is_open=True))]

    def __str__(self) -> str:
        return f"{self.points_held} points held for purchase {self.purchase_id}"


class RewardKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_OFF = "percent_off", _("Percent off")
    FREE_ITEM = "free_item", _("Free item")


class Reward(TenantModel):
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="rewards")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=RewardKind.choices)
    points_cost = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    amount_off_minor = models.PositiveIntegerField(null=True, blank=True)
    percent_off = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    free_item_sku = models.CharField(max_length=100, blank=True)
    available_from = models.DateTimeField(null=True, blank=True)
    available_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["points_cost", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="amount_off") | Q(amount_off_minor__gt=0),
                name="reward_amount_given",
                violation_error_message="An amount-off reward needs its amount.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="percent_off") | Q(percent_off__isnull=False),
                name="reward_percent_given",
                violation_error_message="A percent-off reward needs its percentage.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="free_item") | ~Q(free_item_sku=""),
                name="reward_sku_given",
                violation_error_message="A free-item reward needs the item's SKU.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RedemptionStatus(models.TextChoices):
    REDEEMED = "redeemed", _("Redeemed")
    REVERSED = "reversed", _("Reversed")


class Redemption(TenantModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="redemptions")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="redemptions")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    points = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=RedemptionStatus.choices, default=RedemptionStatus.REDEEMED)
    order_reference = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "created_at"], name="redemption_merchant_time")]

    def __str__(self) -> str:
        return f"{self.points} points for reward {self.reward_id} ({self.status})"


class Offer(TenantModel):
    """Card-linked: spend at least `minimum_spend_minor` (at `store`, if given) between two moments,
    with a linked card, and get points or a credit, once per shopper, until the budget is spent."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="offers")
    name = models.CharField(max_length=100)
    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    minimum_spend_minor = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reward_points = models.PositiveIntegerField(default=0)
    reward_credit_minor = models.PositiveIntegerField(default=0)
    # What the offer may cost in all, in minor units (points at the program's point value when created).
    budget_minor = models.PositiveBigIntegerField()
    award_cost_minor = models.PositiveBigIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reward_points__gt=0) | Q(reward_credit_minor__gt=0),
                name="offer_gives_something",
                violation_error_message="Give points or a credit.",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="offer_ends_after_start",
                violation_error_message="The offer must end after it starts.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OfferBudgetSlot(TenantModel):
    """A share of an offer's budget, counted in awards.

    The budget is spread over a few rows so that purchases qualifying at the same moment take
    different rows (`FOR UPDATE SKIP LOCKED`) instead of queueing on one; each row is only ever
    decremented while it stays at or above zero, so together they never give more than the budget.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="budget_slots", db_index=False)
    slot = models.PositiveSmallIntegerField()
    awards_left = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["offer", "slot"], name="offer_slot_unique")]

    def __str__(self) -> str:
        return f"Offer {self.offer_id} slot {self.slot}: {self.awards_left} left"


class OfferAward(TenantModel):
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="awards")
    shopper = models.ForeignKey(Shopper, on_delete=models.CASCADE, related_name="+")
    purchase = models.ForeignKey(Purchase, null=True, on_delete=models.SET_NULL, related_name="+")
    points = models.PositiveIntegerField(default=0)
    credit_minor = models.PositiveIntegerField(default=0)
    cost_minor = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["offer", "shopper"], name="offer_once_per_shopper")]

    def __str__(self) -> str:
        return f"Offer {self.offer_id} for shopper {self.shopper_id}"


class PartnerStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACTIVE = "active", _("Active")
    ENDED = "ended", _("Ended")


class PartnerAgreement(TenantModel):
    """A purchase at `merchant` earns bonus points in `partner`'s program, paid for by `merchant`.

    Only for shoppers who consented to sharing with the mall network, and who are
    known to the partner by the same card.
    """

    partner = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    bonus_points_per_unit = models.PositiveIntegerField(validators=[MinValueValidator(1)])
    unit_minor = models.PositiveIntegerField(default=100, validators=[MinValueValidator(1)])
    status = models.CharField(max_length=10, choices=PartnerStatus.choices, default=PartnerStatus.PROPOSED)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "partner"], name="partner_agreement_unique"),
            models.CheckConstraint(condition=~Q(merchant=models.F("partner")), name="partner_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} → {self.partner}"


class PartnerAward(TenantModel):
    """Bonus points the partner awarded for a purchase at `merchant`, and what `merchant` owes for them."""

    agreement = models.ForeignKey(PartnerAgreement, on_delete=models.CASCADE, related_name="awards")
    purchase = models.ForeignKey(Purchase, null=True, on_delete=models.SET_NULL, related_name="+")
    partner_account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    points = models.PositiveIntegerField()
    # Taken back at the partner since, because the purchase was refunded (settled with the earnings).
    points_reversed = models.PositiveIntegerField(default=0)
    seen_refunded_minor = models.BigIntegerField(default=0)
    owed_minor = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agreement", "purchase"], name="partner_award_once")]
        indexes = [
            # What settlement looks at: awards whose purchase may have been refunded since.
            models.Index(fields=["merchant"], name="partner_award_open", condition=Q(points_reversed__lt=F("points"))),
        ]

    def __str__(self) -> str:
        return f"{self.points} partner points for purchase {self.purchase_id}"


class ReconciliationRun(TenantModel):
    """What a ledger reconciliation found: accounts whose cached balance differed from their ledger."""

    accounts_checked = models.PositiveIntegerField()
    mismatches = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Reconciliation of {self.created_at:%Y-%m-%d %H:%M}: {len(self.mismatches)} mismatches"


class LedgerMonth(TenantModel):
    """Points moved per month and reason, for closed months: the insights' trend reads this, not the ledger.

    Rebuilt from the ledger by the nightly reconciliation; the current month is read live.
    """

    month = models.DateField()
    reason = models.CharField(max_length=20, choices=Reason.choices)
    points = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["merchant", "month", "reason"], name="ledger_month_unique")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.reason}: {self.points}"
