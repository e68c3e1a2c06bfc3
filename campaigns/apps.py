from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = "Campaigns"

    def ready(self) -> None:
        # Celery's autodiscovery looks at campaigns.tasks only; the segments' tasks live in their package.
        from campaigns.segments import tasks  # noqa: F401

    def seed_demo(self, *, stdout: object = None) -> None:
        """Called by `manage.py seed_demo` (it looks for this hook on every app): demo segments."""
        from campaigns.segments.demo import demo_segments_seed

        demo_segments_seed(stdout=stdout)
