from django.apps import AppConfig


class OutboundConfig(AppConfig):
    name = "outbound"
    verbose_name = "Outbound webhooks"

    def ready(self) -> None:
        from outbound import receivers

        receivers.connect()
