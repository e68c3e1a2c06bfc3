from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.schema import error_responses
from merchants import selectors
from merchants.http import APIRequest
from merchants.serializers import StoreOutputSerializer, WhoAmIOutputSerializer


class WhoAmIApi(APIView):
    """Which merchant and scopes the calling key belongs to: the first call an integration makes."""

    @extend_schema(
        responses={200: WhoAmIOutputSerializer, **error_responses(401, 429)}, tags=["merchant"], operation_id="whoami"
    )
    def get(self, request: APIRequest) -> Response:
        api_key = request.auth
        data = {
            "merchant": request.merchant,
            "key_name": api_key.name,
            "key_prefix": api_key.prefix,
            "scopes": api_key.scopes,
        }
        return Response(WhoAmIOutputSerializer(data).data)


class StoreListApi(APIView):
    """The merchant's stores, so a checkout plugin can name the store a purchase happened in."""

    @extend_schema(
        responses={200: StoreOutputSerializer(many=True), **error_responses(401, 429)},
        tags=["merchant"],
        operation_id="stores_list",
    )
    def get(self, request: APIRequest) -> Response:
        stores = selectors.store_list(merchant=request.merchant)
        return Response(StoreOutputSerializer(stores, many=True).data)


class StoreDetailApi(APIView):
    """One of the merchant's stores."""

    @extend_schema(
        responses={200: StoreOutputSerializer, **error_responses(401, 404, 429)},
        tags=["merchant"],
        operation_id="stores_retrieve",
    )
    def get(self, request: APIRequest, store_id: int) -> Response:
        store = selectors.store_get(merchant=request.merchant, store_id=store_id)
        return Response(StoreOutputSerializer(store).data)
