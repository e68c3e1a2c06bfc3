from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = "Payment sources"
    # The home page shows these cards: (function, permission); see merchants.home.
    home_cards = (("payments.home.payments_card", "payments.manage"),)
