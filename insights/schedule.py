"""Insights's periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Refresh insight snapshots whose purchases or day changed",
        task="insights.refresh_all_insights",
        minute="*/15",
        expires_seconds=840,
    ),
]
