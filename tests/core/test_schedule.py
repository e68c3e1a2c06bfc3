import pytest
from django.core.management import call_command
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from config.celery import app as celery_app
from core.schedule import NAME_PREFIX, schedule_collect


def test_every_scheduled_task_is_a_task_the_worker_knows():
    celery_app.loader.import_default_modules()

    unknown = [entry.task for entry in schedule_collect() if entry.task not in celery_app.tasks]

    assert unknown == []


def test_each_app_schedules_its_own_tasks():
    apps_of_tasks = {entry.task.split(".")[0] for entry in schedule_collect()}

    assert apps_of_tasks == {
        "core",
        "merchants",
        "profiles",
        "payments",
        "insights",
        "loyalty",
        "campaigns",
        "exports",
        "outbound",
    }


@pytest.mark.django_db
def test_setup_writes_the_schedule_once_and_removes_what_is_no_longer_declared(capsys):
    # given an entry the command wrote once that the code no longer declares, and one made in the admin
    every_minute = CrontabSchedule.objects.create(minute="*", timezone="UTC")
    PeriodicTask.objects.create(name=NAME_PREFIX + "Retired task", task="profiles.retired", crontab=every_minute)
    PeriodicTask.objects.create(name="Made by hand", task="profiles.by_hand", crontab=every_minute)

    # when
    call_command("setup_periodic_tasks")
    call_command("setup_periodic_tasks")

    # then
    declared = schedule_collect()
    written = PeriodicTask.objects.filter(name__startswith=NAME_PREFIX)
    assert sorted(written.values_list("task", flat=True)) == sorted(entry.task for entry in declared)
    assert PeriodicTask.objects.filter(name="Made by hand").exists()
    refresh = written.get(task="insights.refresh_all_insights")
    assert (refresh.crontab.minute, refresh.expire_seconds) == ("*/15", 840)
    assert capsys.readouterr().out.splitlines()[-1] == f"periodic tasks: {len(declared)} scheduled, 0 removed"
