from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list, name="list"),
    path("<uuid:public_id>/", views.import_detail, name="detail"),
    path("<uuid:public_id>/check/", views.import_check, name="check"),
    path("<uuid:public_id>/start/", views.import_start, name="start"),
    path("<uuid:public_id>/progress/", views.import_progress, name="progress"),
    path("<uuid:public_id>/errors.csv", views.import_errors, name="errors"),
    path("shoppers/<uuid:public_id>/", views.shopper_panel, name="shopper_panel"),
]
