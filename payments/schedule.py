"""Payments' periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Process payment events whose task was lost",
        task="payments.process_stranded_events",
        minute="*/5",
        expires_seconds=280,
    ),
    PeriodicTask(
        name="Void authorisations never captured",
        task="payments.expire_authorisations",
        minute="20",
        expires_seconds=3000,
    ),
]
