from django.urls import path

from campaigns import public_views

app_name = "campaign_pages"

urlpatterns = [
    path("feedback/<str:token>/", public_views.feedback, name="feedback"),
    path("offer/<str:token>/", public_views.offer, name="offer"),
]
