"""Campaigns's periodic tasks (core.schedule collects every app's; see its docstring)."""

from core.schedule import PeriodicTask

SCHEDULE = [
    PeriodicTask(
        name="Campaigns: rescore shoppers whose rollups changed (lifecycle stages and RFM scores for segments)",
        task="campaigns.update_all_shopper_scores",
        minute="*",
        expires_seconds=55,
    ),
    PeriodicTask(
        name="Campaigns: daily sweep of lifecycle stages and RFM scores (what time alone changes, new cut points)",
        task="campaigns.refresh_all_shopper_scores",
        minute="25",
        hour="2",
        expires_seconds=3 * 3600,
    ),
    PeriodicTask(
        name="Campaigns: start due broadcast runs",
        task="campaigns.start_due_broadcasts",
        minute="*",
        expires_seconds=55,
    ),
    PeriodicTask(
        name="Campaigns: release a dead worker's claims, send due messages (after quiet hours), resume lost chunks",
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
        name="Campaigns: draw the quarter's program holdout of each merchant that keeps one",
        task="campaigns.draw_program_holdouts",
        minute="15",
        expires_seconds=3500,
    ),
    PeriodicTask(
        name="Campaigns: lifecycle automations (win-back, birthday, anniversary, points expiring)",
        task="campaigns.scan_lifecycle",
        minute="5",
        expires_seconds=3500,
    ),
]
