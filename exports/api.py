"""The export API for integrators: `GET /api/v1/exports/<kind>.csv?from=&to=&store=`, streamed as CSV."""

from typing import Any

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from core.csv_export import csv_download
from core.errors import ApplicationError
from exports import selectors, services
from exports.forms import ExportForm
from exports.models import ExportKind
from profiles.api import READ_ERRORS, MerchantAPIView

# The form's field names as the query names them.
_QUERY_NAMES = {"date_from": "from", "date_to": "to", "store": "store", "kind": "kind"}


class ExportApi(MerchantAPIView):
    """Every row of one kind for a period and a store, streamed over a server-side cursor."""

    required_scopes = {"GET": "exports:read"}

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # The CSV streams as it is; errors are always the API's JSON body, whatever the client accepts.
        return JSONRenderer(), JSONRenderer.media_type

    @extend_schema(
        operation_id="exports_csv",
        tags=["exports"],
        parameters=[
            OpenApiParameter(
                "kind", str, OpenApiParameter.PATH, enum=list(ExportKind.values), description="What to export"
            ),
            OpenApiParameter(
                "from", OpenApiTypes.DATE, required=True, description="First day (the merchant's time zone)"
            ),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, required=True, description="Last day, included (the merchant's time zone)"
            ),
            OpenApiParameter(
                "store",
                OpenApiTypes.INT,
                required=False,
                description="A store's id; every store when left out. Purchases and ledger: where the purchase "
                "was made; shoppers, consents and messages: the shopper's home store.",
            ),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                response=OpenApiTypes.STR,
                description="UTF-8 CSV, the header first; formula-like text is quoted with `'`. Times are ISO "
                "8601 with the merchant's offset; amounts in major units beside their currency.",
            ),
            **READ_ERRORS,
        },
        description=(
            "One row per line item (`purchases`, a purchase without items once), shopper, consent decision, "
            "points movement (`ledger`) or message. Erased shoppers appear without personal data. Each call is "
            "written to the merchant's audit log with its filters and row count. Needs the `exports:read` scope."
        ),
    )
    def get(self, request: Request, kind: str) -> StreamingHttpResponse:
        if kind not in ExportKind.values:
            raise Http404
        query: dict[str, Any] = {"kind": kind}
        query.update({name: request.query_params.get(param) for name, param in _QUERY_NAMES.items() if param != "kind"})
        form = ExportForm(query, merchant=self.merchant)
        if not form.is_valid():
            fields = {
                _QUERY_NAMES.get(name, name): [str(m) for m in messages] for name, messages in form.errors.items()
            }
            raise ApplicationError("The export's filters are invalid; see `fields`.", fields=fields)
        filters = form.filters()
        services.export_stream_record(merchant=self.merchant, filters=filters, api_key=request.auth)
        return csv_download(filters.filename(), selectors.export_rows(merchant=self.merchant, filters=filters))
