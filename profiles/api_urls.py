from django.urls import path

from profiles import api

urlpatterns = [
    path("shoppers", api.ShopperCreateApi.as_view(), name="api_shopper_create"),
    path("shoppers/lookup", api.ShopperLookupApi.as_view(), name="api_shopper_lookup"),
    path("shoppers/<uuid:shopper_id>", api.ShopperDetailApi.as_view(), name="api_shopper_detail"),
    path("shoppers/<uuid:shopper_id>/consents", api.ShopperConsentsApi.as_view(), name="api_shopper_consents"),
    path("cards", api.CardEnrollApi.as_view(), name="api_card_enroll"),
    path("cards/<uuid:card_id>/unlink", api.CardUnlinkApi.as_view(), name="api_card_unlink"),
    path("purchases", api.PurchaseCreateApi.as_view(), name="api_purchase_create"),
    path("purchases/batch", api.PurchaseBatchApi.as_view(), name="api_purchase_batch"),
    path("purchases/<uuid:purchase_id>/refund", api.PurchaseRefundApi.as_view(), name="api_purchase_refund"),
    path("visits", api.VisitCreateApi.as_view(), name="api_visit_create"),
]
