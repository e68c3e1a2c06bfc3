"""IdempotencyRecord moves to core (core/migrations/0001): the table stays as it is, with its rows."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('merchants', '0004_merchant_has_network_feed'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='IdempotencyRecord',
                ),
            ],
            database_operations=[],
        ),
    ]
