"""Exports' periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Exports: delete files older than seven days",
        task="exports.expire_files",
        minute="37",
        expires_seconds=3500,
    ),
]
