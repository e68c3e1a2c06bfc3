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

    def seed_demo(self, *, stdout: object = None) -> None:
        """Called by `manage.py seed_demo` (it looks for this hook on every app): demo segments, then
        finished demo campaigns with results to report."""
        from campaigns.demo import demo_campaigns_seed
        from campaigns.segments.demo import demo_segments_seed

        demo_segments_seed(stdout=stdout)
        demo_campaigns_seed(stdout=stdout)
