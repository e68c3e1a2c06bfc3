from django.apps import AppConfig


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = "Loyalty"
    # The shopper profile page loads these fragments (url name, permission) without importing loyalty.
    shopper_profile_panels = (("loyalty:shopper_panel", "loyalty.view"),)
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (("loyalty.home.points_card", "loyalty.view"),)
    # The preference centre shows the shopper's points and rewards, without profiles importing loyalty.
    shopper_preference_sections = ("loyalty.preference_centre.preference_centre_points",)

    def ready(self) -> None:
        from loyalty.receivers import on_merge_undone, on_purchase_recorded, on_shoppers_merged
        from profiles.signals import merge_undone, purchase_recorded, shoppers_merged

        purchase_recorded.connect(on_purchase_recorded, dispatch_uid="loyalty.purchase_earn")
        shoppers_merged.connect(on_shoppers_merged, dispatch_uid="loyalty.points_follow_merge")
        merge_undone.connect(on_merge_undone, dispatch_uid="loyalty.points_follow_merge_undone")

        from core import promotions
        from loyalty.promotions import promotion_windows

        promotions.register(promotion_windows)

        from loyalty.api_expansions import register_all

        # The shopper API object's `loyalty` part (?expand=loyalty), without profiles importing loyalty.
        register_all()
