from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"
    # The shopper profile page loads these fragments (url name, permission) without importing insights.
    shopper_profile_panels = (("insights:shopper_panel", "shoppers.view"),)
