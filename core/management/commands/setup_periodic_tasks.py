from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.schedule import NAME_PREFIX, schedule_collect


class Command(BaseCommand):
    help = "Write the periodic task schedule every app declares in its schedule.py to django-celery-beat (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        wanted = set()
        for entry in schedule_collect():
            crontab, _ = CrontabSchedule.objects.get_or_create(
                minute=entry.minute,
                hour=entry.hour,
                day_of_week=entry.day_of_week,
                day_of_month="*",
                month_of_year="*",
                timezone="UTC",
            )
            name = NAME_PREFIX + entry.name
            wanted.add(name)
            PeriodicTask.objects.update_or_create(
                name=name,
                defaults={
                    "task": entry.task,
                    "crontab": crontab,
                    "interval": None,
                    "expire_seconds": entry.expires_seconds,
                    "enabled": True,
                },
            )
        stale = PeriodicTask.objects.filter(name__startswith=NAME_PREFIX).exclude(name__in=wanted)
        removed = stale.count()
        stale.delete()
        if options["verbosity"] >= 1:
            self.stdout.write(f"periodic tasks: {len(wanted)} scheduled, {removed} removed")
