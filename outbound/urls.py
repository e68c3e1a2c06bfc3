from django.urls import path

from outbound import views

app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("<int:endpoint_id>/secret/", views.secret_rotate, name="secret_rotate"),
    path("<int:endpoint_id>/pause/", views.endpoint_pause, name="pause"),
    path("<int:endpoint_id>/resume/", views.endpoint_resume, name="resume"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/replay/", views.delivery_replay, name="replay"),
]
