from django.urls import path

from loyalty import api

urlpatterns = [
    path("loyalty/shoppers/<uuid:shopper_id>/rewards", api.RedeemableApi.as_view(), name="api_loyalty_redeemable"),
    path("loyalty/redemptions", api.RedeemApi.as_view(), name="api_loyalty_redeem"),
    path(
        "loyalty/redemptions/<uuid:redemption_id>/reverse",
        api.RedemptionReverseApi.as_view(),
        name="api_loyalty_redemption_reverse",
    ),
]
