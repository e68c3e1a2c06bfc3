from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"
    # The shopper profile page loads these fragments (url name, permission) without importing campaigns.
    shopper_profile_panels = (("campaigns:shopper_panel", "campaigns.view"),)
    # The preference centre adds these sections: functions (shopper=, language=) -> HTML, "" for none.
    shopper_preference_sections = ("campaigns.offers.preference_centre.preference_centre_offers",)

    def seed_demo(self, *, stdout: object = None) -> None:
        """Called by `manage.py seed_demo`: finished demo campaigns with results to report."""
        from campaigns.demo import demo_campaigns_seed

        demo_campaigns_seed(stdout=stdout)
