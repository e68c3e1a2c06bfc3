from django.urls import path

from loyalty import views

app_name = "loyalty"

urlpatterns = [
    path("", views.program_list, name="program_list"),
    path("settings/", views.program_settings, name="program_settings"),
    path("rules/new/", views.rule_edit, name="rule_create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/preview/", views.rule_preview, name="rule_preview"),
    path("tiers/new/", views.tier_create, name="tier_create"),
    path("rewards/new/", views.reward_create, name="reward_create"),
    path("offers/new/", views.offer_create, name="offer_create"),
    path("partners/", views.partner_list, name="partner_list"),
    path("partners/<int:agreement_id>/accept/", views.partner_accept, name="partner_accept"),
    path("insights/", views.insights, name="insights"),
    path("roi/", views.roi_page, name="roi"),
    path("roi.csv", views.roi_csv, name="roi_csv"),
    path("shoppers/<uuid:public_id>/", views.shopper_panel, name="shopper_panel"),
    path("shoppers/<uuid:public_id>/adjust/", views.points_adjust, name="points_adjust"),
]
