"""Profiles's periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Rebuild rollups from raw purchases and report drift",
        task="profiles.reconcile_rollups",
        minute="40",
        hour="2",
        expires_seconds=20 * 3600,
    ),
]
