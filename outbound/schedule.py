"""Outbound webhooks' periodic tasks (core.schedule collects every app's)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Retry webhook deliveries that are due", task="outbound.drain_due", minute="*", expires_seconds=55
    ),
]
