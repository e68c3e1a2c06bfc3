from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    # The shopper profile page loads these fragments (url name, permission) without importing campaigns.
    shopper_profile_panels = (("campaigns:shopper_panel", "campaigns.view"),)
    # The preference centre adds these sections: functions (shopper=, language=) -> HTML, "" for none.
    shopper_preference_sections = ("campaigns.offers.preference_centre.preference_centre_offers",)
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (("campaigns.home.campaigns_card", "campaigns.view"),)

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns.receivers import on_esp_tracking, on_merge_undone, on_purchase_recorded, on_shoppers_merged

        # Celery's autodiscovery looks at campaigns.tasks only; the segments' tasks live in their package.
        from campaigns.segments import tasks  # noqa: F401
        from profiles.signals import merge_undone, purchase_recorded, shoppers_merged

        purchase_recorded.connect(on_purchase_recorded, dispatch_uid="campaigns.purchase_triggers")
        shoppers_merged.connect(on_shoppers_merged, dispatch_uid="campaigns.messages_follow_merge")
        merge_undone.connect(on_merge_undone, dispatch_uid="campaigns.messages_follow_merge_undone")
        tracking.connect(on_esp_tracking, dispatch_uid="campaigns.esp_tracking")

        from campaigns.promotions import promotion_windows
        from core import promotions

        promotions.register(promotion_windows)
