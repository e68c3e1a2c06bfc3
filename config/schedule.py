"""Periodic tasks, declared in code.

`manage.py setup_periodic_tasks` writes them to django-celery-beat; it is run
at deploy and by `make demo`, and running it again changes nothing. Each entry
expires near its interval so a backlog after downtime does not run twice.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: str
    # crontab fields, in UTC
    minute: str = "0"
    hour: str = "*"
    day_of_week: str = "*"
    expires_seconds: int = 3600


SCHEDULE = [
    PeriodicTask(
        name="Clear expired staff sessions",
        task="merchants.clear_expired_sessions",
        minute="17",
        hour="3",
        expires_seconds=23 * 3600,
    ),
    PeriodicTask(
        name="Purge expired idempotency records",
        task="merchants.purge_idempotency_records",
        minute="7",
        expires_seconds=3500,
    ),
    PeriodicTask(
        name="Process network events left pending",
        task="profiles.process_pending_network_events",
        minute="*/5",
        expires_seconds=280,
    ),
    PeriodicTask(
        name="Rebuild rollups from raw purchases and report drift",
        task="profiles.reconcile_rollups",
        minute="40",
        hour="2",
        expires_seconds=20 * 3600,
    ),
    PeriodicTask(
        name="Loyalty: book clearing and refunds on points",
        task="loyalty.settle_earnings",
        minute="*/5",
        expires_seconds=280,
    ),
    PeriodicTask(
        name="Loyalty: reconcile balances with the points ledger",
        task="loyalty.reconcile_ledgers",
        minute="10",
        hour="3",
        expires_seconds=20 * 3600,
    ),
    PeriodicTask(
        name="Loyalty: expire points",
        task="loyalty.expire_points",
        minute="20",
        hour="1",
        expires_seconds=20 * 3600,
    ),
    PeriodicTask(
        name="Loyalty: review tiers (downgrades after grace)",
        task="loyalty.review_tiers",
        minute="50",
        hour="1",
        expires_seconds=20 * 3600,
    ),
    PeriodicTask(
        name="Refresh insight snapshots whose purchases or day changed",
        task="profiles.refresh_all_insights",
        minute="*/15",
        expires_seconds=840,
    ),
    PeriodicTask(
        name="Campaigns: refresh lifecycle stages and RFM scores for segments",
        task="campaigns.refresh_all_shopper_scores",
        minute="5-59/15",
        expires_seconds=840,
    ),
    PeriodicTask(
        name="Campaigns: start due broadcast runs",
        task="campaigns.start_due_broadcasts",
        minute="*",
        expires_seconds=55,
    ),
    PeriodicTask(
        name="Campaigns: send due messages (after quiet hours), close interrupted ones, resume lost chunks",
        task="campaigns.send_due_messages",
        minute="*",
        expires_seconds=55,
    ),
    PeriodicTask(
        name="Campaigns: visits at stores start location campaigns",
        task="campaigns.scan_visits",
        minute="*",
        expires_seconds=55,
    ),
    PeriodicTask(
        name="Campaigns: lifecycle automations (win-back, birthday, anniversary, points expiring)",
        task="campaigns.scan_lifecycle",
        minute="5",
        expires_seconds=3500,
    ),
]

# Entries written by the command carry this prefix; others (made in the admin) are left alone.
NAME_PREFIX = "storeloop: "
