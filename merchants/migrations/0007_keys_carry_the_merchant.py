from django.db import migrations, models


class Migration(migrations.Migration):
    """Unique (merchant, id) on API keys and stores: what keys that carry the merchant reference (docs/scaling.md)."""

    dependencies = [
        ("merchants", "0006_api_key_scope_exports"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="merchantapikey",
            constraint=models.UniqueConstraint(fields=("merchant", "id"), name="api_key_merchant_id_key"),
        ),
        migrations.AddConstraint(
            model_name="store",
            constraint=models.UniqueConstraint(fields=("merchant", "id"), name="store_merchant_id_key"),
        ),
    ]
