"""Merchants's periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Clear expired staff sessions",
        task="merchants.clear_expired_sessions",
        minute="17",
        hour="3",
        expires_seconds=23 * 3600,
    ),
]
