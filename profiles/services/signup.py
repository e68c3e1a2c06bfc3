"""Shoppers signing themselves up: kiosks and Wi-Fi portals, and confirming their email and phone.

Staff register a signup point (a kiosk device or a store's Wi-Fi portal) and get
its URL once. A signup creates or matches the shopper, records the consents as
asked (wording version and language included), a visit, and sends the email
confirmation link and the phone code after commit. Contacts stay unconfirmed until
the shopper answers: marketing is never sent to an unconfirmed contact
(`profiles.selectors.contact_for_message`).
"""

import dataclasses
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import URLValidator
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac

from core.errors import ApplicationError, NotFoundError
from core.providers import CardIdentityKind, PaymentProvider
from merchants.models import Merchant, Store, User
from merchants.services import audit_event_record
from profiles import links, sms
from profiles.identity_keys import contact_match_key
from profiles.models import (
    CardIdentityVia,
    ConsentSource,
    ContactKind,
    ContactPoint,
    JoinedVia,
    Shopper,
    ShopperStatus,
    SignupHold,
    SignupPoint,
    SignupPointKind,
    VisitSource,
)
from profiles.selectors import signup_point_token_hash
from profiles.services import signup_holds
from profiles.services.cards import ProviderCardId
from profiles.services.shoppers import (
    CardInput,
    ConsentInput,
    ConsentOrigin,
    ContactInput,
    ShopperInput,
    contact_add,
    shopper_create_or_match,
    shopper_find,
)
from profiles.services.visits import visit_record

# Kiosk card readers whose reading is recognised in the provider's later payments, and what each reading is:
# a Stripe Terminal or Square reader hands over the card's fingerprint, an Adyen terminal the card alias.
CARD_READER_IDENTITY_KINDS: dict[str, str] = {
    PaymentProvider.STRIPE: CardIdentityKind.FINGERPRINT,
    PaymentProvider.SQUARE: CardIdentityKind.FINGERPRINT,
    PaymentProvider.ADYEN: CardIdentityKind.ALIAS,
}

PHONE_CODE_SALT = "storeloop.profiles.phone-code"
PHONE_CODE_LIFETIME = timedelta(minutes=10)


# Staff: registering and revoking kiosks and Wi-Fi portals


@transaction.atomic
def signup_point_create(
    *,
    merchant: Merchant,
    actor: User | None,
    store: Store,
    kind: str,
    name: str,
    has_card_reader: bool = False,
    card_reader_provider: str = "",
    card_reader_account: str = "",
    welcome_message: str = "",
    welcome_messages: dict[str, str] | None = None,
    redirect_url: str = "",
) -> tuple[SignupPoint, str]:
    """Returns the point and its token. The token (the secret part of its URL) is shown once and never stored.

    A kiosk's card reader may name its payment provider and account: a card read there is then recognised in
    that provider's later payments (the reading is linked as the card's identity in that account)."""
    if store.merchant_id != merchant.pk:
        raise NotFoundError("No such store.", field="store")
    if kind not in SignupPointKind.values:
        raise ApplicationError("Choose a kiosk or a Wi-Fi portal.", code="invalid_kind", field="kind")
    name = name.strip()
    if not name:
        raise ApplicationError("Give it a name staff will recognise.", code="name_required", field="name")
    if kind == SignupPointKind.WIFI:
        try:
            URLValidator(schemes=["http", "https"])(redirect_url)
        except ValidationError as error:
            raise ApplicationError(
                "A Wi-Fi portal needs the web address shoppers go to once signed up.",
                code="redirect_url_required",
                field="redirect_url",
            ) from error
        has_card_reader = False
    else:
        redirect_url = ""
    card_reader_provider, card_reader_account = _card_reader(
        has_card_reader, card_reader_provider, card_reader_account.strip()
    )
    token = secrets.token_urlsafe(24)
    point = SignupPoint.objects.create(
        merchant=merchant,
        store=store,
        kind=kind,
        name=name,
        token_hash=signup_point_token_hash(token),
        token_prefix=token[:8],
        has_card_reader=has_card_reader,
        card_reader_provider=card_reader_provider,
        card_reader_account=card_reader_account,
        welcome_message=welcome_message.strip(),
        welcome_messages={
            language: text.strip()[:300]
            for language, text in (welcome_messages or {}).items()
            if language in dict(settings.LANGUAGES) and text and text.strip()
        },
        redirect_url=redirect_url,
        created_by=actor,
    )
    audit_event_record(
        merchant=merchant,
        actor=actor,
        action="signup_point.created",
        subject=name,
        kind=kind,
        store=store.name,
        prefix=point.token_prefix,
        **({"card_reader": f"{card_reader_provider} {card_reader_account}"} if card_reader_provider else {}),
    )
    return point, token


def _card_reader(has_card_reader: bool, provider: str, account: str) -> tuple[str, str]:
    """The reader's provider and account, checked; none without a reader."""
    if not has_card_reader or not provider:
        return "", ""
    if provider not in CARD_READER_IDENTITY_KINDS:
        raise ApplicationError(
            "Choose Stripe Terminal, Square or Adyen for the card reader.",
            code="invalid_card_reader_provider",
            field="card_reader_provider",
        )
    if not account:
        raise ApplicationError(
            "Give the provider account the reader belongs to: a card is recognised within that account only.",
            code="card_reader_account_required",
            field="card_reader_account",
        )
    return provider, account[:100]


def reader_card(*, point: SignupPoint, card: CardInput) -> CardInput:
    """A card read at `point`: when its reader names a provider, the reading is also the card's identity in
    that provider's account, so the provider's later payments with this card land on the shopper."""
    kind = CARD_READER_IDENTITY_KINDS.get(point.card_reader_provider)
    if kind is None or not card.token:
        return card
    identity = ProviderCardId(point.card_reader_provider, point.card_reader_account, kind, card.token)
    return dataclasses.replace(card, identities=(identity,), identities_via=CardIdentityVia.READER)


@transaction.atomic
def signup_point_revoke(*, point: SignupPoint, actor: User | None) -> SignupPoint:
    """Its page stops working at once; shoppers already signed up keep everything."""
    updated = SignupPoint.objects.filter(merchant=point.merchant_id, pk=point.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated:
        audit_event_record(
            merchant=point.merchant,
            actor=actor,
            action="signup_point.revoked",
            subject=point.name,
            kind=point.kind,
            prefix=point.token_prefix,
        )
    point.refresh_from_db()
    return point


# Shoppers: signing up


@dataclass(frozen=True)
class SignupInput:
    language: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""  # normalised
    phone: str = ""  # E.164
    consents: Sequence[ConsentInput] = ()
    preferences: dict[str, list[str]] = field(default_factory=dict)
    card: CardInput | None = None


@dataclass(frozen=True)
class SignupResult:
    shopper: Shopper
    email_contact: ContactPoint | None
    phone_contact: ContactPoint | None
    # What the signup asked, held until it proves a contact of the profile it reached (services.signup_holds).
    hold: SignupHold | None = None


def _contact(shopper: Shopper, kind: str, value: str) -> ContactPoint | None:
    """The shopper's contact for what was typed: that spelling, or the one of its mailbox or number they have."""
    if not value:
        return None
    same = ContactPoint.objects.filter(shopper=shopper, kind=kind, match_key=contact_match_key(kind, value))
    return same.filter(value=value).first() or same.order_by("-is_verified", "pk").first()


@transaction.atomic
def shopper_signup(*, point: SignupPoint, data: SignupInput) -> SignupResult:
    """A shopper signs up at a kiosk or Wi-Fi portal. All of it is stored, or (on any error) none of it.

    An email or phone that an active profile verified before brings the signup to that profile. The page must
    not tell that a profile existed, so everything that follows is as for a new one: the email gets its
    confirmation link (to a confirmed address too, whose owner so learns of the signup) and the page offers
    the phone code. Anyone can type a known address, so what such a signup asks of the profile (consent
    grants, the card, names, preferences, its visit) is held until this signup proves the contact
    (services.signup_holds); withdrawals apply at once. A new profile, or one the card read identifies, takes
    everything at once.
    """
    if not point.is_active:
        raise NotFoundError("This signup page is closed.")
    if not data.email and not data.phone:
        raise ApplicationError("Give an email address or a phone number.", code="contact_required", field="email")
    contacts = [
        ContactInput(kind=kind, value=value)
        for kind, value in ((ContactKind.EMAIL, data.email), (ContactKind.PHONE, data.phone))
        if value
    ]
    is_kiosk = point.kind == SignupPointKind.KIOSK
    shopper_data = ShopperInput(
        first_name=data.first_name,
        last_name=data.last_name,
        language=data.language,
        home_store=point.store,
        joined_via=JoinedVia.KIOSK if is_kiosk else JoinedVia.WIFI,
        contacts=contacts,
    )
    origin = ConsentOrigin(
        source=ConsentSource.KIOSK if is_kiosk else ConsentSource.PAGE,
        reference=f"{point.get_kind_display()} {point.token_prefix} · {point.name}",
    )
    card = reader_card(point=point, card=data.card) if data.card and is_kiosk and point.has_card_reader else None
    preferences: dict[str, Sequence[str]] | None = {
        name: values for name, values in data.preferences.items() if values
    } or None
    visit_source = VisitSource.KIOSK if is_kiosk else VisitSource.WIFI
    reached, matched_by = shopper_find(
        merchant=point.merchant,
        email=data.email or None,
        phone=data.phone or None,
        card_token=card.token if card else None,
    )
    hold = None
    if reached is not None and matched_by in (ContactKind.EMAIL, ContactKind.PHONE):
        shopper = reached
        for contact in contacts:
            contact_add(shopper=shopper, contact=contact)
        typed = [_contact(shopper, ContactKind.EMAIL, data.email), _contact(shopper, ContactKind.PHONE, data.phone)]
        hold = signup_holds.signup_hold_create(
            point=point,
            shopper=shopper,
            data=shopper_data,
            consents=data.consents,
            origin=origin,
            card=card,
            preferences=preferences,
            contacts=[contact for contact in typed if contact is not None],
            # Counted for the store now; the profile's once the signup proves itself.
            visit=visit_record(
                merchant=point.merchant, store=point.store, occurred_at=timezone.now(), source=visit_source
            ),
        )
    else:
        shopper = shopper_create_or_match(
            merchant=point.merchant,
            data=shopper_data,
            consents=data.consents,
            origin=origin,
            card=card,
            preferences=preferences,
        ).shopper
        visit_record(
            merchant=point.merchant,
            store=point.store,
            occurred_at=timezone.now(),
            source=visit_source,
            shopper=shopper,
        )
    email_contact = _contact(shopper, ContactKind.EMAIL, data.email)
    if email_contact is not None:
        email_confirmation_queue(contact=email_contact, language=data.language, hold_id=hold.pk if hold else None)
    return SignupResult(
        shopper=shopper,
        email_contact=email_contact,
        phone_contact=_contact(shopper, ContactKind.PHONE, data.phone),
        hold=hold,
    )


@transaction.atomic
def wifi_visit_record(*, point: SignupPoint) -> None:
    """A shopper who connects without signing up: the store still counts the visit."""
    if not point.is_active:
        raise NotFoundError("This signup page is closed.")
    visit_record(merchant=point.merchant, store=point.store, occurred_at=timezone.now(), source=VisitSource.WIFI)


# Email: double opt-in


def email_confirmation_queue(*, contact: ContactPoint, language: str, hold_id: int | None = None) -> None:
    """Mail the confirmation link once the transaction that made the contact commits."""
    from profiles.tasks import send_email_confirmation

    contact_id = contact.pk
    transaction.on_commit(lambda: send_email_confirmation.delay(contact_id, language, hold_id))


def email_confirmation_send(*, contact_id: int, language: str, hold_id: int | None = None) -> bool:
    """Send the link, in the shopper's language. False (nothing sent) if the contact is gone.

    A confirmed address gets it too: a signup page sends one whenever an address is given, so as not to tell
    whether it was known (following it again changes nothing).
    """
    contact = (  # a task: the contact, of whichever merchant, by id
        ContactPoint.all_merchants.select_related("shopper", "merchant")
        .filter(pk=contact_id, kind=ContactKind.EMAIL)
        .first()
    )
    if contact is None or contact.shopper.status != ShopperStatus.ACTIVE:
        return False
    with translation.override(language):
        context = {
            "merchant": contact.merchant,
            "shopper": contact.shopper,
            "confirm_url": links.email_confirmation_url(contact, language=language, hold_id=hold_id),
            "days": settings.EMAIL_CONFIRMATION_MAX_AGE_DAYS,
        }
        subject = render_to_string("shopper/email/confirm_email_subject.txt", context).strip()
        body = render_to_string("shopper/email/confirm_email.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [contact.value])
    return True


@transaction.atomic
def email_confirm(*, contact_id: int, value: str, hold_id: int | None = None) -> ContactPoint:
    """The shopper followed the link: the address is confirmed.

    If another profile already confirmed the same address, that one keeps it and
    this profile shows up in the duplicates queue for staff to merge. A link sent by a held signup
    (`hold_id`) applies that signup's requests, or waits for them (services.signup_holds.signup_hold_prove).
    """
    contact = (  # the signed link decides the merchant
        ContactPoint.all_merchants.select_for_update()
        .select_related("shopper")
        .filter(pk=contact_id, kind=ContactKind.EMAIL, value=value)
        .first()
    )
    if contact is None or contact.shopper.status != ShopperStatus.ACTIVE:
        raise links.LinkError("This link is not valid.", code="link_invalid")
    if hold_id is not None and not signup_holds.signup_hold_prove(hold_id=hold_id, contact=contact):
        return contact
    if not contact.is_verified:
        contact_add(
            shopper=contact.shopper, contact=ContactInput(kind=ContactKind.EMAIL, value=value, is_verified=True)
        )
        contact.refresh_from_db()
    return contact


# Phone: a one-time code by text message


def _code_digest(contact_id: int, code: str) -> str:
    return salted_hmac(PHONE_CODE_SALT, f"{contact_id}:{code}").hexdigest()


def phone_code_send(*, contact: ContactPoint, merchant_name: str, language: str, hold_id: int | None = None) -> str:
    """Text a six-digit code to the number; returns the signed ticket the code is checked against.

    Nothing is stored: the ticket carries an HMAC of the code and expires in ten minutes; a held signup's
    ticket names its hold, which lasts as long as the code.
    The caller rate-limits per number and per kiosk before calling, once the contact is committed.
    """
    code = f"{secrets.randbelow(1_000_000):06d}"
    payload: dict[str, object] = {"c": contact.pk, "h": _code_digest(contact.pk, code)}
    if hold_id is not None:
        payload["s"] = hold_id
        signup_holds.signup_hold_extend(hold_id=hold_id, merchant_id=contact.merchant_id)
    ticket = signing.dumps(payload, salt=PHONE_CODE_SALT)
    with translation.override(language):
        body = translation.gettext("%(merchant)s: your confirmation code is %(code)s. It works for 10 minutes.") % {
            "merchant": merchant_name,
            "code": code,
        }
    sms.send_sms(to=contact.value, body=body)
    return ticket


def phone_code_contact(*, ticket: str) -> ContactPoint:
    """The contact a ticket is for; ApplicationError if the ticket expired or was never ours."""
    try:
        payload = signing.loads(ticket, salt=PHONE_CODE_SALT, max_age=PHONE_CODE_LIFETIME)
        contact_id = int(payload["c"])
    except signing.SignatureExpired as error:
        raise ApplicationError("This code has expired.", code="code_expired", field="code") from error
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise ApplicationError("This code is not valid.", code="code_invalid", field="code") from error
    # The signed code decides the merchant.
    contact = ContactPoint.all_merchants.filter(pk=contact_id, kind=ContactKind.PHONE).select_related("shopper").first()
    if contact is None:
        raise ApplicationError("This code is not valid.", code="code_invalid", field="code")
    return contact


def phone_code_hold_id(*, ticket: str) -> int | None:
    """The signup hold a (valid) ticket names, if any."""
    hold_id = signing.loads(ticket, salt=PHONE_CODE_SALT).get("s")
    return int(hold_id) if hold_id is not None else None


def phone_code_greeting_name(*, ticket: str, contact: ContactPoint) -> str:
    """The first name to greet the person at the kiosk by: the one they typed (never a held profile's own)."""
    hold_id = phone_code_hold_id(ticket=ticket)
    if hold_id is None:
        return contact.shopper.first_name
    hold = SignupHold.objects.filter(merchant=contact.merchant_id, pk=hold_id).first()
    return str(hold.request.get("names", {}).get("first_name", "")) if hold is not None else ""


@transaction.atomic
def phone_confirm(*, ticket: str, code: str) -> ContactPoint:
    contact = phone_code_contact(ticket=ticket)
    payload = signing.loads(ticket, salt=PHONE_CODE_SALT)
    if not constant_time_compare(payload.get("h", ""), _code_digest(contact.pk, code.strip())):
        raise ApplicationError("That code is not right.", code="code_wrong", field="code")
    hold_id = phone_code_hold_id(ticket=ticket)
    if hold_id is not None and not signup_holds.signup_hold_prove(hold_id=hold_id, contact=contact):
        return contact
    if not contact.is_verified:
        contact_add(
            shopper=contact.shopper, contact=ContactInput(kind=ContactKind.PHONE, value=contact.value, is_verified=True)
        )
        contact.refresh_from_db()
    return contact
