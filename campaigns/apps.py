from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        from anymail.signals import tracking

        from campaigns.receivers import on_esp_tracking, on_purchase_recorded
        from profiles.signals import purchase_recorded

        purchase_recorded.connect(on_purchase_recorded, dispatch_uid="campaigns.purchase_triggers")
        tracking.connect(on_esp_tracking, dispatch_uid="campaigns.esp_tracking")
