from django.db import migrations


class Migration(migrations.Migration):
    # The rows were copied into payment sources first (payments 0002); the feed lives there now.
    dependencies = [
        ("payments", "0002_generic_feed_from_profiles"),
        ("profiles", "0009_card_identities"),
    ]

    operations = [
        migrations.DeleteModel(name="NetworkEvent"),
        migrations.DeleteModel(name="NetworkConnection"),
    ]
