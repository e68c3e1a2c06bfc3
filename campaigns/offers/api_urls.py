from django.urls import path

from campaigns.offers import api

urlpatterns = [
    path("shoppers/<uuid:shopper_id>/offers", api.ShopperOffersApi.as_view(), name="api_shopper_offers"),
    path("coupons/<str:code>/redeem", api.CouponRedeemApi.as_view(), name="api_coupon_redeem"),
]
