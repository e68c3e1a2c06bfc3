from django.urls import path

from merchants import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("switch/", views.merchant_switch, name="merchant_switch"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("settings/", views.settings_home, name="settings_home"),
    path("settings/general/", views.settings_general, name="settings_general"),
    path("settings/stores/", views.store_list, name="settings_stores"),
    path("settings/stores/new/", views.store_create, name="settings_store_create"),
    path("settings/stores/<int:store_id>/", views.store_edit, name="settings_store_edit"),
    path("settings/staff/", views.staff_list, name="settings_staff"),
    path("settings/staff/invite/", views.staff_invite, name="settings_staff_invite"),
    path("settings/staff/<int:membership_id>/", views.membership_edit, name="settings_membership_edit"),
    path("settings/staff/<int:membership_id>/remove/", views.membership_remove, name="settings_membership_remove"),
    path(
        "settings/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="settings_invitation_revoke",
    ),
    path("settings/api-keys/", views.api_key_list, name="settings_api_keys"),
    path("settings/api-keys/<str:prefix>/revoke/", views.api_key_revoke, name="settings_api_key_revoke"),
    path("settings/audit/", views.audit_log, name="settings_audit"),
]
