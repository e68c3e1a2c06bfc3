"""The API for checkout plugins: shoppers, cards, purchases, refunds, visits, consents.

Each endpoint decodes its body into a struct (profiles.api_input), calls one service,
and renders with an output serializer. Every write accepts an `Idempotency-Key`.
"""

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import UnsupportedMediaType
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api_input import decode
from core.errors import ApplicationError, NotFoundError
from core.idempotency import idempotent
from core.schema import error_responses, idempotency_header
from merchants.selectors import store_list
from profiles import api_input as i
from profiles import expansions, selectors
from profiles import serializers as s
from profiles.models import Card, ConsentSource, ContactPoint, Purchase, Shopper
from profiles.services import batch, purchases, shoppers, visits

IDEMPOTENCY_HEADER = idempotency_header()
WRITE_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 429)
READ_ERRORS = error_responses(400, 401, 403, 404, 429)


class MerchantAPIView(APIView):
    """Gives serializers the calling merchant, so ids of other merchants read as unknown."""

    def get_serializer_context(self) -> dict[str, Any]:
        return {"merchant": self.request.merchant, "request": self.request}  # type: ignore[attr-defined]

    def parse(self, serializer_class: type, data: Any = None, **kwargs: Any) -> Any:
        """Validate with a DRF input serializer (the few endpoints outside the ingest path)."""
        serializer = serializer_class(
            data=self.request.data if data is None else data, context=self.get_serializer_context(), **kwargs
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def body(self) -> bytes:
        """The raw JSON body, for core.api_input.decode; a body of another media type is a 415, as DRF answers."""
        raw = self.request.body
        media_type = (self.request.content_type or "").split(";")[0].strip().lower()
        if raw and not (media_type == "application/json" or media_type.endswith("+json")):
            raise UnsupportedMediaType(media_type)
        return raw

    def lookups(self) -> i.Lookups:
        return i.Lookups(self.merchant)

    @property
    def merchant(self) -> Any:
        return self.request.merchant  # type: ignore[attr-defined]

    def consent_origin(self) -> shoppers.ConsentOrigin:
        return shoppers.ConsentOrigin(source=ConsentSource.API_KEY, reference=self.request.auth.prefix)


SHOPPER_PAGE_MAX = 100
EXPAND_PARAMETER = OpenApiParameter(
    "expand",
    str,
    description=(
        "Parts to add to the shopper object, comma-separated: `consents` (what holds now per channel and "
        "purpose), `preferences`, `loyalty` (points balance and tier). Left out by default to keep responses "
        "small. An unknown part is a 400."
    ),
)


def _shoppers_output(request: Request, merchant: Any, shoppers: list[Shopper]) -> list[dict[str, Any]]:
    """The shoppers as the API shows them, with the parts `?expand=` asks for: one query per part per page."""
    names = expansions.expand_parse(request.query_params.get("expand", ""))
    context = {
        "expand": names,
        "expanded": expansions.expand_load(merchant=merchant, shoppers=shoppers, names=names),
    }
    return s.ShopperOutputSerializer(shoppers, many=True, context=context).data


def _page_size(request: Request) -> tuple[int, int]:
    """`limit` (1 to SHOPPER_PAGE_MAX, 50 unless given) and `offset`, or a 400 naming the parameter."""
    values = {}
    for name, default, most in (("limit", 50, SHOPPER_PAGE_MAX), ("offset", 0, None)):
        raw = request.query_params.get(name, str(default))
        least = 1 if name == "limit" else 0
        if not raw.isdigit() or int(raw) < least or (most is not None and int(raw) > most):
            bounds = f"from {least} to {most}" if most is not None else f"{least} or more"
            raise ApplicationError(f"`{name}` is a whole number, {bounds}.", code="invalid", field=name)
        values[name] = int(raw)
    return values["limit"], values["offset"]


def _shopper_for_output(merchant: Any, shopper: Shopper) -> Shopper:
    return (
        Shopper.objects.for_merchant(merchant)
        .prefetch_related(Prefetch("contacts", queryset=ContactPoint.objects.order_by("kind", "id")), "cards")
        .get(pk=shopper.pk)
    )


class ShopperCreateApi(MerchantAPIView):
    """List the shoppers; create a shopper, or find the one a card or verified contact already identifies."""

    required_scopes = {"GET": "shoppers:read", "POST": "shoppers:write"}

    @extend_schema(
        operation_id="shoppers_list",
        tags=["shoppers"],
        parameters=[
            EXPAND_PARAMETER,
            OpenApiParameter("limit", int, description=f"Shoppers per page, 1 to {SHOPPER_PAGE_MAX} (50 by default)"),
            OpenApiParameter("offset", int, description="Shoppers to skip (0 by default)"),
        ],
        responses={200: s.ShopperExpandableOutputSerializer(many=True), **READ_ERRORS},
        description="The merchant's shoppers, newest first (merged profiles left out).",
    )
    def get(self, request: Request) -> Response:
        limit, offset = _page_size(request)
        shoppers = selectors.shopper_api_list(merchant=self.merchant, limit=limit, offset=offset)
        return Response(_shoppers_output(request, self.merchant, shoppers))

    @extend_schema(
        operation_id="shoppers_create_or_match",
        tags=["shoppers"],
        request=i.ShopperCreate,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ShopperMatchOutputSerializer, 200: s.ShopperMatchOutputSerializer, **WRITE_ERRORS},
        description=(
            "Find the shopper a card, or an email or phone that shopper verified, already identifies, or create "
            "one (an email is compared as its provider reads it: Gmail ignores dots and +tags). "
            "201 when created, 200 when matched; contacts, consents and the card are added either way."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        details, card = i.shopper_create_from(decode(self.body(), i.ShopperCreate), self.lookups())
        result = shoppers.shopper_create_or_match(
            merchant=self.merchant,
            data=details.shopper,
            consents=details.consents,
            origin=self.consent_origin(),
            card=card,
            preferences=details.preferences,
        )
        body = s.ShopperMatchOutputSerializer(
            {
                "shopper": _shopper_for_output(self.merchant, result.shopper),
                "created": result.created,
                "matched_by": result.matched_by,
            }
        ).data
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class ShopperLookupApi(MerchantAPIView):
    """Find a shopper by a linked card's id, a verified email or a verified phone."""

    required_scopes = {"GET": "shoppers:read"}

    @extend_schema(
        operation_id="shoppers_lookup",
        tags=["shoppers"],
        parameters=[
            OpenApiParameter("email", str, description="A verified email address"),
            OpenApiParameter("phone", str, description="A verified phone number, with country code"),
            OpenApiParameter("card_id", str, description="The provider's card id (token) of a linked card"),
            EXPAND_PARAMETER,
        ],
        responses={200: s.ShopperExpandableOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request) -> Response:
        email = request.query_params.get("email", "").strip()
        phone = request.query_params.get("phone", "").strip()
        card_id = request.query_params.get("card_id", "").strip()
        if not (email or phone or card_id):
            raise ApplicationError("Give `email`, `phone` or `card_id`.", code="lookup_key_required")
        shopper, _matched_by = shoppers.shopper_find(
            merchant=self.merchant,
            email=shoppers.normalize_email(email) if email else None,
            phone=shoppers.normalize_phone(phone) if phone else None,
            card_token=card_id or None,
        )
        if shopper is None:
            raise NotFoundError("No shopper matches.")
        return Response(_shoppers_output(request, self.merchant, [_shopper_for_output(self.merchant, shopper)])[0])


class ShopperDetailApi(MerchantAPIView):
    """One shopper: identity, contact points and linked cards; consents, preferences and loyalty with `expand`."""

    required_scopes = {"GET": "shoppers:read"}

    @extend_schema(
        operation_id="shoppers_retrieve",
        tags=["shoppers"],
        parameters=[EXPAND_PARAMETER],
        responses={200: s.ShopperExpandableOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, shopper_id: str) -> Response:
        shopper = get_object_or_404(Shopper.objects.for_merchant(self.merchant), public_id=shopper_id)
        return Response(_shoppers_output(request, self.merchant, [_shopper_for_output(self.merchant, shopper)])[0])


class ShopperConsentsApi(MerchantAPIView):
    """A shopper's consents: what holds now per channel and purpose, and the ledger behind it."""

    required_scopes = {"GET": "shoppers:read", "POST": "shoppers:write"}

    @extend_schema(
        operation_id="shoppers_consents_retrieve",
        tags=["shoppers"],
        responses={200: s.ConsentsOutputSerializer, **READ_ERRORS},
    )
    def get(self, request: Request, shopper_id: str) -> Response:
        shopper = get_object_or_404(Shopper.objects.for_merchant(self.merchant), public_id=shopper_id)
        current = selectors.consents_current(merchant=self.merchant, shopper=shopper)
        history = selectors.consent_history(merchant=self.merchant, shopper=shopper)
        return Response(s.ConsentsOutputSerializer({"current": current, "history": history}).data)

    @extend_schema(
        operation_id="shoppers_consents_change",
        tags=["shoppers"],
        request=i.ConsentChange,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.ConsentEventOutputSerializer(many=True), **WRITE_ERRORS},
        description="Append consent decisions (granted or withdrawn) to the shopper's consent ledger.",
    )
    @idempotent
    def post(self, request: Request, shopper_id: str) -> Response:
        shopper = get_object_or_404(
            Shopper.objects.for_merchant(self.merchant).filter(status="active"), public_id=shopper_id
        )
        consents = i.consents_from(decode(self.body(), i.ConsentChange))
        events = shoppers.consent_record(shopper=shopper, consents=consents, origin=self.consent_origin())
        return Response(s.ConsentEventOutputSerializer(events, many=True).data, status=status.HTTP_201_CREATED)


class CardEnrollApi(MerchantAPIView):
    """Link a payment card to a shopper's loyalty profile."""

    required_scopes = {"POST": "shoppers:write"}

    @extend_schema(
        operation_id="cards_enroll",
        tags=["cards"],
        request=i.CardEnroll,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.CardEnrollOutputSerializer, **WRITE_ERRORS},
        description=(
            "The checkout's “link this card to your rewards” tick: the provider's card id, the shopper "
            "(an id, or details to create or match one) and the consent they gave."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        card_data, shopper, details = i.card_enroll_from(decode(self.body(), i.CardEnroll), self.lookups())
        if shopper is not None:
            card = shoppers.card_enroll(merchant=self.merchant, shopper=shopper, card=card_data, linked_via="checkout")
        else:
            # card_enroll_from gives the shopper's details whenever no shopper_id names one
            result = shoppers.shopper_create_or_match(
                merchant=self.merchant,
                data=details.shopper,
                consents=details.consents,
                origin=self.consent_origin(),
                card=card_data,
                preferences=details.preferences,
            )
            shopper = result.shopper
            card = Card.objects.for_merchant(self.merchant).get(
                fingerprint=shoppers.card_fingerprint(card_data.token), status="active"
            )
        body = s.CardEnrollOutputSerializer({"card": card, "shopper": _shopper_for_output(self.merchant, shopper)}).data
        return Response(body, status=status.HTTP_201_CREATED)


class CardUnlinkApi(MerchantAPIView):
    """Unlink a card: its later purchases no longer reach the shopper; history stays."""

    required_scopes = {"POST": "shoppers:write"}

    @extend_schema(
        operation_id="cards_unlink",
        tags=["cards"],
        request=None,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.CardOutputSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request: Request, card_id: str) -> Response:
        card = get_object_or_404(Card.objects.for_merchant(self.merchant), public_id=card_id)
        return Response(s.CardOutputSerializer(shoppers.card_unlink(card=card)).data)


class PurchaseCreateApi(MerchantAPIView):
    """Record one purchase, once per external id."""

    required_scopes = {"POST": "purchases:write"}

    @extend_schema(
        operation_id="purchases_create",
        tags=["purchases"],
        request=i.PurchaseInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.PurchaseOutputSerializer, 200: s.PurchaseOutputSerializer, **WRITE_ERRORS},
        description=(
            "Record one purchase. 201 when stored; 200 with the stored purchase when this `external_id` was "
            "already recorded (or its basket was matched onto a card-network transaction).\n\n"
            "The purchase lands on the shopper named by `shopper_id`, else on the shopper whose linked card "
            "has this `card_id`. A `card_id` no linked card has (a card never linked, or unlinked) is not an "
            "error: the purchase is stored as an **anonymous** purchase, and the response says so plainly: "
            '`"shopper_id": null`, `"card_linked": false` and a `note` in words. Do not take a 201 for a '
            "match: read `shopper_id` and `card_linked`."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = i.purchase_from(decode(self.body(), i.PurchaseInput), self.lookups())
        result = purchases.purchase_record(merchant=self.merchant, data=data)
        return Response(
            s.PurchaseOutputSerializer(result.purchase).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class PurchaseBatchApi(MerchantAPIView):
    """Record up to 1,000 purchases, with a result per row."""

    required_scopes = {"POST": "purchases:write"}

    @extend_schema(
        operation_id="purchases_batch",
        tags=["purchases"],
        request=i.BatchInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.BatchOutputSerializer, **WRITE_ERRORS},
        description=(
            "Record up to 1,000 purchases (each shaped as for `purchases_create`). Every row gets a result: "
            "created, duplicate, basket_matched, or error with its fields. Good rows are stored even when "
            "others fail."
        ),
    )
    @idempotent
    def post(self, request: Request) -> Response:
        stores = {store.pk: store for store in store_list(merchant=self.merchant)}
        rows = i.batch_from(self.body(), i.Lookups(self.merchant, stores=stores))
        results = batch.purchase_record_batch(merchant=self.merchant, rows=rows)
        body = {
            "created": sum(r.status in ("created", "basket_matched") for r in results),
            "duplicates": sum(r.status == "duplicate" for r in results),
            "errors": sum(r.status == "error" for r in results),
            "results": [
                {
                    "index": r.index,
                    "status": r.status,
                    "purchase_id": str(r.purchase.public_id) if r.purchase else None,
                    "error": {"code": r.error.code, "message": r.error.message, "fields": r.error.fields}
                    if r.error
                    else None,
                }
                for r in results
            ],
        }
        # Already in BatchOutputSerializer's shape (the schema names it): running it over 1,000 rows again
        # would only copy what is here.
        return Response(body)


class PurchaseRefundApi(MerchantAPIView):
    """Refund a purchase in full or in part."""

    required_scopes = {"POST": "purchases:write"}

    @extend_schema(
        operation_id="purchases_refund",
        tags=["purchases"],
        request=i.RefundInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={200: s.PurchaseOutputSerializer, **WRITE_ERRORS},
    )
    @idempotent
    def post(self, request: Request, purchase_id: str) -> Response:
        purchase = get_object_or_404(Purchase.objects.for_merchant(self.merchant), public_id=purchase_id)
        data = decode(self.body(), i.RefundInput)
        refunded = purchases.purchase_refund(
            merchant=self.merchant, purchase_id=purchase.pk, amount_minor=data.amount_minor
        )
        return Response(s.PurchaseOutputSerializer(refunded).data)


class VisitCreateApi(MerchantAPIView):
    """Record a shopper's presence in a store (Wi-Fi, geofence, kiosk)."""

    required_scopes = {"POST": "purchases:write"}

    @extend_schema(
        operation_id="visits_create",
        tags=["visits"],
        request=i.VisitInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.VisitOutputSerializer, **WRITE_ERRORS},
        description="A presence event: store Wi-Fi, an app geofence or a kiosk saw the shopper in a store.",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = i.visit_from(decode(self.body(), i.VisitInput), self.lookups())
        shopper = data.shopper
        if shopper is None and data.card_token:
            shopper, _ = shoppers.shopper_find(merchant=self.merchant, card_token=data.card_token)
        visit = visits.visit_record(
            merchant=self.merchant,
            store=data.store,
            occurred_at=data.occurred_at,
            source=data.source,
            shopper=shopper,
        )
        return Response(s.VisitOutputSerializer(visit).data, status=status.HTTP_201_CREATED)
