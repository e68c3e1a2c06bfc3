from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "insights"
    verbose_name = "Insights"
    # The shopper profile page loads these fragments (url name, permission) without importing insights.
    shopper_profile_panels = (("insights:shopper_panel", "shoppers.view"),)
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (
        ("insights.home.sales_card", "insights.view"),
        ("insights.home.snapshot_card", "insights.view"),
    )
