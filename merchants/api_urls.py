from django.urls import path

from merchants import api

urlpatterns = [
    path("me", api.WhoAmIApi.as_view(), name="api_whoami"),
    path("stores", api.StoreListApi.as_view(), name="api_store_list"),
    path("stores/<int:store_id>", api.StoreDetailApi.as_view(), name="api_store_detail"),
]
