"""Loyalty's periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
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
]
