from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    # The shopper profile page loads these fragments (url name, permission) without importing campaigns.
    shopper_profile_panels = (("campaigns:shopper_panel", "campaigns.view"),)
    # The preference centre adds these sections: functions (shopper=, language=) -> HTML, "" for none.
    shopper_preference_sections = ("campaigns.offers.preference_centre.preference_centre_offers",)

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns.receivers import on_esp_tracking, on_purchase_recorded

        # Celery's autodiscovery looks at campaigns.tasks only; the segments' tasks live in their package.
        from campaigns.segments import tasks  # noqa: F401
        from profiles.signals import purchase_recorded

        purchase_recorded.connect(on_purchase_recorded, dispatch_uid="campaigns.purchase_triggers")
        tracking.connect(on_esp_tracking, dispatch_uid="campaigns.esp_tracking")

        from campaigns.promotions import promotion_windows
        from core import promotions

        promotions.register(promotion_windows)
