from django.urls import path

from profiles import settings_views

app_name = "signup_points"

urlpatterns = [
    path("", settings_views.signup_point_list, name="list"),
    path("<int:point_id>/revoke/", settings_views.signup_point_revoke, name="revoke"),
]
