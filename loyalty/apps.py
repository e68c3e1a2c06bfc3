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

    def seed_demo(self, *, stdout: object = None) -> None:
        """Called by `manage.py seed_demo` (it looks for this hook on every app): a program with rules."""
        from loyalty.demo import demo_programs_seed

        demo_programs_seed(stdout=stdout)
