from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "profiles"
    verbose_name = "Shopper profiles"

    def ready(self) -> None:
        from profiles.api_expansions import register_all

        # The parts of the shopper API object given with ?expand= (apps above add theirs in their ready()).
        register_all()
