"""What the settings pages tell a merchant about each provider: which account id to paste, where its signing
secret is, and which webhook events to subscribe the URL to."""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.providers import PaymentProvider


@dataclass(frozen=True)
class ProviderGuide:
    account: Promise | str  # what to paste as the provider account id
    secret: Promise | str  # where the signing secret is shown
    events: tuple[str, ...]  # the webhook events to subscribe to


GUIDES: dict[str, ProviderGuide] = {
    PaymentProvider.STRIPE: ProviderGuide(
        account=_("Your Stripe account id, acct_… (Dashboard → Settings → Business → Account details)."),
        secret=_("The endpoint's signing secret, whsec_… (Developers → Webhooks → your endpoint → Signing secret)."),
        events=(
            "charge.succeeded",
            "charge.captured",
            "charge.refunded",
            "charge.expired",
            "charge.dispute.created",
            "charge.failed",
        ),
    ),
    PaymentProvider.SQUARE: ProviderGuide(
        account=_("Your Square merchant id (Developer Dashboard → your application → Locations, or the seller's id)."),
        secret=_("The subscription's signature key (Developer Dashboard → Webhooks → Subscriptions → Signature key)."),
        events=("payment.created", "payment.updated", "refund.created", "refund.updated"),
    ),
    PaymentProvider.FIDEL: ProviderGuide(
        account=_("Your Fidel program id (Fidel dashboard → Programs → the program's id)."),
        secret=_("The webhook's secret Fidel shows when you register the URL (Webhooks → your webhook → Secret)."),
        events=("transaction.auth", "transaction.clearing", "transaction.refund", "card.linked"),
    ),
    PaymentProvider.ADYEN: ProviderGuide(
        account=_("Your Adyen merchant account name (Customer Area → Settings → Merchant accounts)."),
        secret=_("The HMAC key of the standard webhook (Developers → Webhooks → your webhook → HMAC key), in hex."),
        events=("AUTHORISATION", "CAPTURE", "REFUND", "CANCEL_OR_REFUND", "CHARGEBACK"),
    ),
    PaymentProvider.SHOPIFY: ProviderGuide(
        account=_("Your shop's domain, e.g. northwind.myshopify.com (Shopify has no card identities to scope)."),
        secret=_(
            "The app's client secret (Partners → Apps → your app → API credentials), or the key Shopify shows "
            "under Settings → Notifications → Webhooks."
        ),
        events=("orders/create", "orders/paid", "refunds/create"),
    ),
    PaymentProvider.GENERIC: ProviderGuide(
        account=_("Any name for the sending system; cards are recognised by the token it sends."),
        secret=_(
            "A secret you choose (at least 32 random characters); sign each event with it as Storeloop-Signature."
        ),
        events=("transaction.auth", "transaction.clearing", "transaction.refund"),
    ),
}


def guide_for(provider: str) -> ProviderGuide:
    return GUIDES[provider]
