"""How the API's authentication appears in the OpenAPI document."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class MerchantAPIKeyScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.api_auth.MerchantAPIKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <prefix.secret>`, created by an owner under Settings → API keys.",
        }
