from django.urls import path

from campaigns.segments import views

app_name = "segments"

urlpatterns = [
    path("", views.segment_list, name="segment_list"),
    path("new/", views.segment_create, name="segment_create"),
    path("count/", views.audience_count, name="audience_count"),
    path("builder/", views.builder_rows, name="builder_rows"),
    path("<int:segment_id>/", views.segment_detail, name="segment_detail"),
    path("<int:segment_id>/snapshots/", views.snapshot_create, name="snapshot_create"),
    path("<int:segment_id>/export.csv", views.segment_export, name="segment_export"),
    path("snapshots/<int:snapshot_id>/export.csv", views.snapshot_export, name="snapshot_export"),
]
