from django.urls import path

from profiles import views

app_name = "profiles"

urlpatterns = [
    path("", views.shopper_list, name="shopper_list"),
    path("duplicates/", views.duplicate_list, name="duplicate_list"),
    path("merge/", views.shopper_merge, name="shopper_merge"),
    path("merges/<int:merge_event_id>/undo/", views.merge_undo, name="merge_undo"),
    path("<uuid:public_id>/", views.shopper_detail, name="shopper_detail"),
    path("<uuid:public_id>/export/", views.shopper_export, name="shopper_export"),
    path("<uuid:public_id>/erase/", views.shopper_erase, name="shopper_erase"),
]
