"""The hand-off is recorded per message (`handing`) and claims carry a lease (`claimed_by`, `claimed_at`).

Rows a sender of the previous version left in `sending` may have been handed over (it recorded nothing before
the hand-off): they are resolved as that version's sweep would have resolved them, failed "interrupted",
never sent again. Stop the old workers before migrating, as for any deploy.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="claimed_by",
            field=models.CharField(blank=True, db_default="", max_length=64),
        ),
        migrations.AlterField(
            model_name="outboxmessage",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("sending", "Sending"),
                    ("handing", "Being handed to the channel"),
                    ("sent", "Handed to the channel"),
                    ("suppressed", "Not sent (guard rail)"),
                    ("failed", "Failed"),
                    ("bounced", "Bounced"),
                ],
                default="queued",
                max_length=12,
            ),
        ),
        migrations.AddIndex(
            model_name="outboxmessage",
            index=models.Index(
                condition=models.Q(("status__in", ["sending", "handing"])), fields=["claimed_at"], name="outbox_claimed"
            ),
        ),
        migrations.RunSQL(
            "UPDATE campaigns_outboxmessage SET status = 'failed', reason = 'interrupted' WHERE status = 'sending'",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
