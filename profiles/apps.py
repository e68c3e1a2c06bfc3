from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Shopper profiles"
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (("profiles.home.signups_card", "shoppers.view"),)

    def ready(self) -> None:
        from profiles.api_expansions import register_all

        # The parts of the shopper API object given with ?expand= (apps above add theirs in their ready()).
        register_all()
