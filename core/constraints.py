"""A foreign key between two tenant tables that carries the merchant (docs/scaling.md).

Django's foreign keys are one column. Distributed by merchant (Citus), a key between two tenant
tables must include the distribution column on both sides, and it also says something worth
saying on one server: a row can only point at a row of its own merchant. Declare the relation as
usual with `db_constraint=False`, and put the key on the model's Meta:

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, db_constraint=False)

    class Meta:
        constraints = [TenantForeignKey(field="endpoint", name="delivery_endpoint_same_merchant")]

The target declares `UniqueConstraint(fields=["merchant", "id"], ...)` (what the key references).
Migrations create and drop the key like any constraint; deletes cascade in Django as before, and
the key is deferred to commit, as Django's own keys are.
"""

from typing import Any

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement, Table


class TenantForeignKey(models.BaseConstraint):
    def __init__(self, *, field: str, name: str, **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.field = field

    @staticmethod
    def _given(
        model: type[models.Model] | None, schema_editor: BaseDatabaseSchemaEditor | None
    ) -> tuple[type[models.Model], BaseDatabaseSchemaEditor]:
        if model is None or schema_editor is None:
            raise TypeError("A TenantForeignKey is written for a model, by a schema editor.")
        return model, schema_editor

    def _columns(self, model: type[models.Model]) -> tuple[str, str, str]:
        relation = model._meta.get_field(self.field)
        merchant = model._meta.get_field("merchant")
        if not isinstance(relation, models.ForeignKey) or not isinstance(merchant, models.ForeignKey):
            raise TypeError(f"{model.__name__}.{self.field} and .merchant must be foreign keys.")
        target: Any = relation.related_model
        return str(merchant.column), str(relation.column), str(target._meta.db_table)

    def constraint_sql(self, model: type[models.Model] | None, schema_editor: BaseDatabaseSchemaEditor | None) -> str:
        model, schema_editor = self._given(model, schema_editor)
        merchant_column, column, target_table = self._columns(model)
        quote = schema_editor.quote_name
        return (
            f"FOREIGN KEY ({quote(merchant_column)}, {quote(column)}) "
            f"REFERENCES {quote(target_table)} ({quote(merchant_column)}, {quote('id')}) "
            "DEFERRABLE INITIALLY DEFERRED"
        )

    def create_sql(self, model: type[models.Model] | None, schema_editor: BaseDatabaseSchemaEditor | None) -> Statement:  # type: ignore[override]  # Django's own constraints return a Statement too
        model, schema_editor = self._given(model, schema_editor)
        return Statement(
            "ALTER TABLE %(table)s ADD CONSTRAINT %(name)s %(constraint)s",
            table=Table(model._meta.db_table, schema_editor.quote_name),
            name=schema_editor.quote_name(self.name),
            constraint=self.constraint_sql(model, schema_editor),
        )

    def remove_sql(self, model: type[models.Model] | None, schema_editor: BaseDatabaseSchemaEditor | None) -> Statement:  # type: ignore[override]  # as above
        model, schema_editor = self._given(model, schema_editor)
        return Statement(
            "ALTER TABLE %(table)s DROP CONSTRAINT %(name)s",
            table=Table(model._meta.db_table, schema_editor.quote_name),
            name=schema_editor.quote_name(self.name),
        )

    def validate(
        self, model: type[models.Model], instance: models.Model, exclude: Any = None, using: Any = None
    ) -> None:
        """Nothing to check before saving: the relation is looked up within the merchant by the code that sets it."""

    def __eq__(self, other: object) -> bool:
        if isinstance(other, TenantForeignKey):
            return self.name == other.name and self.field == other.field
        return super().__eq__(other)

    def __hash__(self) -> int:
        return hash((self.name, self.field))

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        path, args, kwargs = super().deconstruct()
        kwargs["field"] = self.field
        return path, tuple(args), kwargs
