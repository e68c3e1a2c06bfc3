"""What would stop distributing the database by merchant (docs/scaling.md, "Distribution by merchant").

On a distributed PostgreSQL (Citus), tenant tables are sharded by `merchant_id`, `merchants_merchant`
by its id, on the same shards; tables without a merchant (users, sites, Django's own) become
reference tables, copied to every node. Distribution then requires:

- every foreign key between two tenant tables to include merchant_id on both sides;
- every unique constraint (and unique field) of a tenant table to include merchant_id;
- no foreign key from a reference table to a tenant table;
- every table that hangs off a tenant table to have a merchant_id of its own.

A relation declared with `db_constraint=False` and a `core.constraints.TenantForeignKey` on its model
carries the merchant and passes; one with no key at all is listed as a blocker too.

This test computes those blockers from the models and compares them with the list in
docs/distribution-blockers.txt. A new blocker fails the test (give the new constraint the merchant);
a blocker that went away fails it too, until it is struck from the list: the number only goes down.
Primary keys (`id` alone on every table) are left out: docs/scaling.md covers them as one step.
"""

from pathlib import Path

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from core.constraints import TenantForeignKey
from merchants.models import Merchant

LIST = Path(__file__).resolve().parent.parent / "docs" / "distribution-blockers.txt"


def _is_tenant(model: type[models.Model]) -> bool:
    try:
        field = model._meta.get_field("merchant")
    except FieldDoesNotExist:
        return False
    return getattr(field, "related_model", None) is Merchant and field.concrete


def _owned_models() -> list[type[models.Model]]:
    return sorted(
        (model for model in apps.get_models() if not model._meta.proxy and model._meta.managed),
        key=lambda model: model._meta.db_table,
    )


def distribution_blockers() -> list[str]:
    found: list[str] = []
    for model in _owned_models():
        table = model._meta.db_table
        tenant = _is_tenant(model)
        carried = {c.field for c in model._meta.constraints if isinstance(c, TenantForeignKey)}
        for field in model._meta.concrete_fields:
            if tenant and field.unique and not field.primary_key and field.name != "merchant":
                found.append(f"unique without merchant: {table}.{field.column}")
            target = field.related_model if field.is_relation else None
            if target is None or target is Merchant:
                continue
            target_is_tenant = _is_tenant(target)
            if tenant and target_is_tenant and field.name not in carried:
                if field.db_constraint:
                    found.append(f"foreign key without merchant: {table}.{field.column} -> {target._meta.db_table}")
                else:  # no key at all is no better: the database no longer checks the relation
                    found.append(f"relation without a key: {table}.{field.column} -> {target._meta.db_table}")
            elif not tenant and model is not Merchant and target_is_tenant and field.db_constraint:
                found.append(f"tenant row referenced from a table without merchant: {table}.{field.column}")
        if not tenant:
            continue
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ()) or ()
            if isinstance(constraint, models.UniqueConstraint) and fields and "merchant" not in fields:
                found.append(f"unique without merchant: {table} {constraint.name} ({', '.join(fields)})")
        for together in model._meta.unique_together:
            if "merchant" not in together:
                found.append(f"unique without merchant: {table} ({', '.join(together)})")
    return sorted(set(found))


def _listed() -> list[str]:
    return sorted(line.strip() for line in LIST.read_text().splitlines() if line.strip() and not line.startswith("#"))


def test_no_new_constraint_blocks_distribution_by_merchant():
    new = sorted(set(distribution_blockers()) - set(_listed()))

    assert new == [], "New constraints without the merchant (include merchant_id, see docs/scaling.md):\n" + "\n".join(
        new
    )


def test_the_list_of_blockers_only_shrinks():
    gone = sorted(set(_listed()) - set(distribution_blockers()))

    assert gone == [], f"No longer blocking: strike these from {LIST.name}:\n" + "\n".join(gone)
