"""InsightSettings and InsightSnapshot, moved from profiles with their tables and rows."""

import django.core.validators
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('merchants', '0004_merchant_has_network_feed'),
        ('profiles', '0007_insight_models_move_to_insights'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='InsightSettings',
                    fields=[
                        ('merchant', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='insight_settings', serialize=False, to='merchants.merchant')),
                        ('new_days', models.PositiveSmallIntegerField(default=30, help_text='A shopper whose first purchase is at most this many days old is new.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(365)])),
                        ('at_risk_days', models.PositiveSmallIntegerField(default=90, help_text='No purchase for more than this many days: at risk.', validators=[django.core.validators.MinValueValidator(2), django.core.validators.MaxValueValidator(730)])),
                        ('lapsed_days', models.PositiveSmallIntegerField(default=180, help_text='No purchase for more than this many days: lapsed (a win-back target).', validators=[django.core.validators.MinValueValidator(3), django.core.validators.MaxValueValidator(1095)])),
                        ('regular_min_purchases', models.PositiveSmallIntegerField(default=4, help_text='Purchases in all that make a recent shopper a regular.', validators=[django.core.validators.MinValueValidator(2), django.core.validators.MaxValueValidator(1000)])),
                        ('top_spender_percent', models.PositiveSmallIntegerField(default=10, help_text='The highest-spending share of recent shoppers, in percent, counted as top spenders.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(50)])),
                        ('purchases_per_staff_hour', models.PositiveSmallIntegerField(default=12, help_text='Purchases one person at the till serves in an hour: turns the forecast into staff needed.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(1000)])),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'profiles_insightsettings',
                        'constraints': [models.CheckConstraint(condition=models.Q(('at_risk_days__gt', models.F('new_days')), ('lapsed_days__gt', models.F('at_risk_days'))), name='insight_thresholds_in_order', violation_error_message='Keep the days in order: new < at risk < lapsed.')],
                    },
                ),
                migrations.CreateModel(
                    name='InsightSnapshot',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('section', models.CharField(max_length=120)),
                        ('computed_at', models.DateTimeField()),
                        ('data', models.JSONField(default=dict)),
                        ('merchant', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='merchants.merchant')),
                    ],
                    options={
                        'db_table': 'profiles_insightsnapshot',
                        'constraints': [models.UniqueConstraint(fields=('merchant', 'section'), name='insight_snapshot_section')],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
