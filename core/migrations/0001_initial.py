"""IdempotencyRecord, moved from merchants with its table (merchants_idempotencyrecord) and rows."""

import django.core.serializers.json
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('merchants', '0005_idempotency_record_moves_to_core'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='IdempotencyRecord',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(max_length=255)),
                        ('request_hash', models.CharField(max_length=64)),
                        ('response_status', models.PositiveSmallIntegerField()),
                        ('response_body', models.JSONField(encoder=django.core.serializers.json.DjangoJSONEncoder)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'merchants_idempotencyrecord',
                        'indexes': [models.Index(fields=['created_at'], name='idempotency_expiry')],
                        'constraints': [models.UniqueConstraint(fields=('merchant', 'key'), name='idempotency_key_unique')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
