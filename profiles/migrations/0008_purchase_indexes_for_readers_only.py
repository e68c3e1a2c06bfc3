"""Purchase keeps only the indexes something reads: ten became nine, and two of them partial.

Every index on profiles_purchase is paid on each insert of the one table that grows without
bound (about 2.2 GB of indexes at 10M rows before this). What changed, and why nothing needs more:

- profiles_purchase_store_id_f408270b (store_id), dropped. Every read of a store's purchases is
  within a merchant (segments, dashboards, basket matching) and uses purchase_match
  (merchant, store, amount, occurred_at), which leads with those two columns. What is left
  is deleting a store, which PROTECT refuses while it has purchases: that check scans, and a
  store with purchases cannot be deleted anyway.
- profiles_purchase_card_id_c75acd56 (card_id), replaced by purchase_card, the same index
  over the rows that have a card. Its only reader is erasure (a card's purchases forget it,
  `card_id IN (...)`), which never looks for NULL.
- purchase_shopper_timeline (shopper, -occurred_at), replaced by purchase_shopper_history,
  the same index over the rows that have a shopper. Its readers (a shopper's timeline,
  merges, rollup recomputes, campaign measurement, loyalty's channel history) all ask for
  given shoppers, never for NULL; anonymous purchases stop costing it an entry.

The two foreign keys stay: only their indexes go (AlterField alone would also drop and
re-validate the constraints, a full scan under lock). Indexes are built and dropped
concurrently, so the table takes writes meanwhile; data is untouched.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models

CARD_INDEX = "profiles_purchase_card_id_c75acd56"
STORE_INDEX = "profiles_purchase_store_id_f408270b"


def _drop_fk_index(name: str, column: str) -> migrations.RunSQL:
    return migrations.RunSQL(
        f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"',
        reverse_sql=f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "profiles_purchase" ("{column}")',
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("profiles", "0007_insight_models_move_to_insights"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="purchase",
            index=models.Index(condition=models.Q(("card__isnull", False)), fields=["card"], name="purchase_card"),
        ),
        AddIndexConcurrently(
            model_name="purchase",
            index=models.Index(
                condition=models.Q(("shopper__isnull", False)),
                fields=["shopper", "-occurred_at"],
                name="purchase_shopper_history",
            ),
        ),
        RemoveIndexConcurrently(model_name="purchase", name="purchase_shopper_timeline"),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="purchase",
                    name="card",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.SET_NULL,
                        related_name="+",
                        to="profiles.card",
                    ),
                ),
                migrations.AlterField(
                    model_name="purchase",
                    name="store",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.store",
                    ),
                ),
            ],
            database_operations=[_drop_fk_index(CARD_INDEX, "card_id"), _drop_fk_index(STORE_INDEX, "store_id")],
        ),
    ]
