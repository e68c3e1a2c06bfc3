from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"
    verbose_name = "Imports"
    # The shopper profile page loads this fragment (url name, permission) without importing imports:
    # the proof of what an import brought over (consents with their original date, source and wording).
    shopper_profile_panels = (("imports:shopper_panel", "shoppers.view"),)
