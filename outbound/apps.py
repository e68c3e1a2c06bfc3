from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = "Outbound webhooks"
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (("outbound.home.webhooks_card", "webhooks.manage"),)

    def ready(self) -> None:
        from outbound import receivers

        receivers.connect()
