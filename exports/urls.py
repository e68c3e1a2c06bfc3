from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.export_page, name="export"),
    path("jobs/<int:job_id>/", views.job_detail, name="job_detail"),
    path("jobs/<int:job_id>/download/", views.job_download, name="job_download"),
]
