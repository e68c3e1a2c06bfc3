"""Messages from templates: the shopper's language (else the merchant's), personalised, with an unsubscribe.

Templates use Django's template language on plain values only: `{{ first_name }}`, `{{ last_name }}`,
`{{ merchant_name }}`, `{{ points_balance }}`, `{{ coupon_code }}`, `{{ offer_name }}`,
`{{ offer_description }}`, `{{ offer_url }}`, `{{ feedback_url }}`, `{{ preference_centre_url }}`,
`{{ unsubscribe_url }}`. Every message ends with an unsubscribe link (and a preference-centre link
for email) unless the template already shows it; email also carries the RFC 8058 headers.
"""

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.template import Context, Engine, Template, TemplateSyntaxError
from django.utils import translation
from django.utils.translation import gettext as _

from campaigns import links
from campaigns.models import Campaign, MessageTemplate, Variant
from core.errors import ApplicationError
from merchants.models import Merchant
from profiles import links as profile_links
from profiles.models import ConsentChannel, Shopper

SAMPLE = {
    "first_name": "Alex",
    "last_name": "Example",
    "points_balance": 1250,
    "coupon_code": "SAMPLE23",
}


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str
    language: str
    headers: dict[str, str] = field(default_factory=dict)


@lru_cache(maxsize=1)
def _engine() -> Engine:
    # Plain text: nothing to escape. No loaders, so a template cannot include files.
    return Engine(autoescape=False, libraries={}, loaders=[])


@lru_cache(maxsize=512)
def _compiled(source: str) -> Template:
    return _engine().from_string(source)


def template_check(*, source: str, field_name: str = "body") -> None:
    """Refuse a template that does not compile (for the draft editor)."""
    try:
        _compiled(source)
    except TemplateSyntaxError as error:
        raise ApplicationError(
            f"The template does not read: {error}", code="template_invalid", field=field_name
        ) from error


@lru_cache(maxsize=32)
def _footer(language: str, channel: str) -> str:
    """The unsubscribe footer in the message's language, with {unsubscribe} and {preferences} to fill in."""
    with translation.override(language):
        if channel == ConsentChannel.SMS:
            return "\n" + _("Reply STOP to opt out: %(url)s") % {"url": "{unsubscribe}"}
        return (
            "\n\n-- \n"
            + _("Unsubscribe: %(url)s") % {"url": "{unsubscribe}"}
            + "\n"
            + _("Your preferences: %(url)s") % {"url": "{preferences}"}
        )


def _offer_lines(language: str, coupon_code: str, offer_url: str, body: str) -> str:
    """A message with an offer always carries the shopper's code and the offer's page: what the
    template left out is added after it, in the message's language."""
    lines = []
    with translation.override(language):
        if coupon_code and coupon_code not in body:
            lines.append(_("Your code: %(code)s") % {"code": coupon_code})
        if offer_url and offer_url not in body:
            lines.append(_("See the offer: %(url)s") % {"url": offer_url})
    return "\n\n" + "\n".join(lines) if lines else ""


def template_pick(
    *, templates: dict[str, MessageTemplate], language: str, default_language: str
) -> MessageTemplate | None:
    """The template in the shopper's language, else the merchant's default, else any (the first language)."""
    for choice in (language, default_language):
        if choice and choice in templates:
            return templates[choice]
    return templates[sorted(templates)[0]] if templates else None


def variant_templates(*, merchant: Merchant, variant_ids: list[int]) -> dict[int, dict[str, MessageTemplate]]:
    found: dict[int, dict[str, MessageTemplate]] = {}
    for template in MessageTemplate.objects.for_merchant(merchant).filter(variant_id__in=variant_ids):
        found.setdefault(template.variant_id, {})[template.language] = template
    return found


def message_render(
    *,
    campaign: Campaign,
    template: MessageTemplate,
    context: dict[str, Any],
    unsubscribe_url: str,
    preference_centre_url: str,
    headers: dict[str, str] | None = None,
) -> RenderedMessage:
    values = {
        "merchant_name": campaign.merchant.name,
        "offer_name": campaign.offer.name if campaign.offer_id and campaign.offer else "",
        "offer_description": campaign.offer.description if campaign.offer_id and campaign.offer else "",
        "unsubscribe_url": unsubscribe_url,
        "preference_centre_url": preference_centre_url,
        **context,
    }
    context_values = Context(values)
    subject = _compiled(template.subject).render(context_values).strip() if template.subject else ""
    body = _compiled(template.body).render(context_values).strip()
    body += _offer_lines(template.language, values.get("coupon_code", ""), values.get("offer_url", ""), body)
    if unsubscribe_url not in body:
        body += _footer(template.language, campaign.channel).format(
            unsubscribe=unsubscribe_url, preferences=preference_centre_url
        )
    subject = " ".join(subject.split())[:200]
    return RenderedMessage(subject=subject, body=body, language=template.language, headers=headers or {})


def _template_for(campaign: Campaign, variant: Variant, language: str) -> MessageTemplate:
    template = template_pick(
        templates={t.language: t for t in MessageTemplate.objects.filter(variant=variant, merchant=campaign.merchant)},
        language=language,
        default_language=campaign.merchant.default_language,
    )
    if template is None:
        raise ApplicationError("This variant has no message yet.", code="template_missing", field="language")
    return template


def _check_variant(campaign: Campaign, variant: Variant) -> None:
    if variant.campaign_id != campaign.pk or variant.merchant_id != campaign.merchant_id:
        raise ApplicationError("No such variant.", code="not_found", field="variant")


def message_preview(
    *, campaign: Campaign, variant: Variant, language: str, shopper: Shopper | None = None
) -> RenderedMessage:
    """What a shopper (or a sample shopper) would receive from this variant in this language.

    Links are real links for a real shopper; a sample shopper's links point at the site only. No coupon is
    issued for a preview: the sample code stands in.
    """
    _check_variant(campaign, variant)
    template = _template_for(campaign, variant, language)
    if shopper is not None and shopper.merchant_id != campaign.merchant_id:
        raise ApplicationError("No such shopper.", code="not_found", field="shopper")
    context: dict[str, Any] = dict(SAMPLE)
    site = profile_links.absolute_url("/")
    unsubscribe = f"{site}#unsubscribe"
    preferences = f"{site}#preferences"
    if shopper is not None:
        context.update(first_name=shopper.first_name, last_name=shopper.last_name)
        unsubscribe = profile_links.unsubscribe_url(shopper, channel=campaign.channel, purpose=campaign.purpose)
        preferences = profile_links.preference_centre_url(shopper, language=template.language)
    context["offer_url"] = f"{site}#offer" if campaign.offer_id else ""
    context["feedback_url"] = f"{site}#feedback"
    return message_render(
        campaign=campaign,
        template=template,
        context=context,
        unsubscribe_url=unsubscribe,
        preference_centre_url=preferences,
    )


def message_context(
    *, campaign: Campaign, shopper: Shopper, message_id: int, language: str, points_balance: int, coupon_code: str
) -> dict[str, Any]:
    return {
        "first_name": shopper.first_name,
        "last_name": shopper.last_name,
        "points_balance": points_balance,
        "coupon_code": coupon_code,
        "offer_url": links.offer_url(message_id=message_id, language=language) if campaign.offer_id else "",
        "feedback_url": links.feedback_url(message_id=message_id, language=language),
    }
