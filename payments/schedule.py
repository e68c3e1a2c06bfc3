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
        name="Scrub payment events of erased shoppers and past their retention",
        task="payments.retention_sweep",
        minute="35",
        expires_seconds=3000,
    ),
    PeriodicTask(
        name="Void authorisations never captured",
        task="payments.expire_authorisations",
        minute="20",
        expires_seconds=3000,
    ),
]
