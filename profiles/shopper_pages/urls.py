from django.urls import path

from profiles.shopper_pages import confirm, kiosk, preferences, wifi

app_name = "shopper_pages"

urlpatterns = [
    path("kiosk/<str:token>/", kiosk.kiosk_signup, name="kiosk"),
    path("kiosk/<str:token>/code/", kiosk.kiosk_code, name="kiosk_code"),
    path("kiosk/<str:token>/code/resend/", kiosk.kiosk_code_resend, name="kiosk_code_resend"),
    path("wifi/<str:token>/", wifi.wifi_signup, name="wifi"),
    path("confirm/<str:token>/", confirm.confirm_email, name="confirm_email"),
    path("preferences/<str:token>/", preferences.preferences, name="preferences"),
    path("preferences/<str:token>/consents/", preferences.preferences_consents, name="preferences_consents"),
    path("preferences/<str:token>/profile/", preferences.preferences_profile, name="preferences_profile"),
    path(
        "preferences/<str:token>/cards/<uuid:card_id>/unlink/",
        preferences.preferences_card_unlink,
        name="preferences_card_unlink",
    ),
    path("preferences/<str:token>/export/", preferences.preferences_export, name="preferences_export"),
    path("preferences/<str:token>/delete/", preferences.preferences_erase, name="preferences_erase"),
    path("unsubscribe/<str:token>/", preferences.unsubscribe, name="unsubscribe"),
]
