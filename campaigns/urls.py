from django.urls import path

from campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("", views.campaign_list, name="campaign_list"),
    path("new/", views.campaign_edit, name="campaign_create"),
    path("audience-hint/", views.audience_hint, name="audience_hint"),
    path("<int:campaign_id>/", views.campaign_report, name="campaign_report"),
    path("<int:campaign_id>/progress/", views.campaign_progress, name="campaign_progress"),
    path("<int:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<int:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
    path("<int:campaign_id>/preview/", views.campaign_preview, name="campaign_preview"),
    path("<int:campaign_id>/test-send/", views.campaign_test_send, name="campaign_test_send"),
    path("<int:campaign_id>/<slug:action>/", views.campaign_action, name="campaign_action"),
    path("offers/", views.offer_list, name="offer_list"),
    path("offers/new/", views.offer_edit, name="offer_create"),
    path("offers/<int:offer_id>/", views.offer_edit, name="offer_edit"),
    path("settings/", views.campaign_settings, name="settings"),
    path("program-lift/", views.program_lift, name="program_lift"),
    path("program-lift/holdout/", views.program_holdout_settings, name="program_holdout_settings"),
    path("feedback/", views.feedback_dashboard, name="feedback"),
    path("shoppers/<uuid:public_id>/", views.shopper_panel, name="shopper_panel"),
]
