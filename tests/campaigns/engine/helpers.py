"""Helpers for the campaign engine tests: reachable shoppers, campaigns with a message, purchases through ingest."""

import itertools
from datetime import datetime, timedelta

from django.utils import timezone

from campaigns.models import CampaignKind
from campaigns.services import launch
from profiles.models import ConsentSource
from profiles.services import purchases
from profiles.services.shoppers import ConsentInput, ConsentOrigin, consent_record
from tests.campaigns.factories import CampaignFactory, TemplateFactory, VariantFactory
from tests.profiles.factories import ContactFactory, ShopperFactory

_orders = itertools.count(1)


def consent(shopper, *, channel="email", purpose="marketing", granted=True, at=None):
    return consent_record(
        shopper=shopper,
        consents=[ConsentInput(channel=channel, purpose=purpose, is_granted=granted)],
        origin=ConsentOrigin(source=ConsentSource.STAFF),
        occurred_at=at,
    )


def reachable_shopper(merchant, *, channel="email", purposes=("marketing", "feedback"), **fields):
    shopper = ShopperFactory(merchant=merchant, **fields)
    if channel == "email":
        ContactFactory(shopper=shopper, kind="email")
    else:
        ContactFactory(shopper=shopper, kind="phone", value=f"+3161234{shopper.pk % 10000:04d}")
    for purpose in purposes:
        consent(shopper, channel=channel, purpose=purpose, at=timezone.now() - timedelta(days=1))
    return shopper


def campaign_with_message(merchant, *, holdout=0, variants=(("A", 100),), **fields):
    fields.setdefault("kind", CampaignKind.BROADCAST)
    campaign = CampaignFactory(merchant=merchant, holdout_percent=holdout, **fields)
    for key, weight in variants:
        variant = VariantFactory(campaign=campaign, key=key, weight=weight)
        TemplateFactory(
            variant=variant,
            language="en",
            subject=f"[{key}] Hello {{{{ first_name }}}}",
            body=f"[{key}] Hi {{{{ first_name }}}}, you have {{{{ points_balance }}}} points.",
        )
        TemplateFactory(
            variant=variant, language="ko", subject=f"[{key}] 안녕하세요", body="안녕하세요 {{ first_name }}"
        )
    return campaign


def launched(campaign, actor=None):
    return launch.campaign_launch(campaign=campaign, actor=actor)


def record_purchase(
    merchant, shopper, *, channel="in_store", amount_minor=2500, store=None, at: datetime | None = None
):
    return purchases.purchase_record(
        merchant=merchant,
        data=purchases.PurchaseInput(
            external_id=f"engine-{next(_orders)}",
            amount_minor=amount_minor,
            currency="EUR",
            occurred_at=at or timezone.now(),
            channel=channel,
            store=store if channel == "in_store" else None,
            shopper=shopper,
        ),
    ).purchase
