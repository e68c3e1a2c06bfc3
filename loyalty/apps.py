from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"
    # The shopper profile page loads these fragments (url name, permission) without importing loyalty.
    shopper_profile_panels = (("loyalty:shopper_panel", "loyalty.view"),)

    def ready(self) -> None:
        from loyalty.receivers import on_purchase_recorded
        from profiles.signals import purchase_recorded

        purchase_recorded.connect(on_purchase_recorded, dispatch_uid="loyalty.purchase_earn")

        from core import promotions
        from loyalty.promotions import promotion_windows

        promotions.register(promotion_windows)
