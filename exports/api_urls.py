from django.urls import path

from exports import api

urlpatterns = [
    path("exports/<str:kind>.csv", api.ExportApi.as_view(), name="api_exports_csv"),
]
