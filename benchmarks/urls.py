from django.urls import include, path

from benchmarks.control import ControlPurchaseApi

urlpatterns = [
    path("bench/control", ControlPurchaseApi.as_view(), name="bench_control"),
    path("", include("config.urls")),
]

handler400 = "config.views.bad_request"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
