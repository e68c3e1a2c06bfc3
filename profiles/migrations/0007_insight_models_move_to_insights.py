"""InsightSettings and InsightSnapshot move to insights (insights/migrations/0001): the tables stay, with their rows."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('profiles', '0006_line_item_merchant_without_constraint'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='insightsnapshot',
                    name='merchant',
                ),
                migrations.DeleteModel(
                    name='InsightSettings',
                ),
                migrations.DeleteModel(
                    name='InsightSnapshot',
                ),
            ],
            database_operations=[],
        ),
    ]
