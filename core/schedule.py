"""Periodic tasks, declared in code, each app beside its own tasks.

An app lists its entries as `SCHEDULE` in its `schedule.py`; `manage.py setup_periodic_tasks`
collects every installed app's and writes them to django-celery-beat. It is run at deploy and
by `make demo`, and running it again changes nothing. Each entry expires near its interval so
a backlog after downtime does not run twice.
"""

from dataclasses import dataclass
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: str
    # crontab fields, in UTC
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    expires_seconds: int = 3600


# Entries written by the command carry this prefix; others (made in the admin) are left alone.
NAME_PREFIX = "storeloop: "

SCHEDULE = [
    PeriodicTask(
        name="Purge expired idempotency records",
        task="core.purge_idempotency_records",
        minute="7",
        expires_seconds=3500,
    ),
]


def schedule_collect() -> list[PeriodicTask]:
    """Every installed app's `schedule.SCHEDULE`, in the order of INSTALLED_APPS."""
    entries: list[PeriodicTask] = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.schedule"
        if find_spec(module_name) is not None:
            entries.extend(import_module(module_name).SCHEDULE)
    return entries
