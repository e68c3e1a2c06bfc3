from django.urls import path

from insights import views

app_name = "insights"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("freshness/", views.freshness, name="freshness"),
    path("lifecycle/", views.lifecycle, name="lifecycle"),
    path("lifecycle/settings/", views.lifecycle_settings, name="lifecycle_settings"),
    path("channels/", views.channels, name="channels"),
    path("channels/store-only-regulars.csv", views.store_only_regulars_csv, name="store_only_regulars_csv"),
    path("traffic/", views.traffic, name="traffic"),
    path("reach/", views.reach, name="reach"),
    path("stores/", views.stores, name="stores"),
    path("products/", views.products, name="products"),
    path("demand/", views.demand, name="demand"),
    path("network/", views.network, name="network"),
    path("shoppers/<uuid:public_id>/", views.shopper_panel, name="shopper_panel"),
]
