"""Model instances from values a query just returned, on the ingest path: the one shortcut past Model.__init__.

`stored_instance` builds what `Model.from_db` builds, without `Model.__init__`'s per-field work: a
new instance whose `__dict__` holds the fields' values, marked as loaded from `alias`. Fields left
out are deferred exactly as from_db defers them (Django loads a field on first access when its
attname is missing from `__dict__`). Relations the caller already holds go into the fields cache,
so reading them costs no query.

Kept because it still pays, by `benchmarks.ingest_batch`'s "purchase_build" line: 1,000 purchases in
7–18 ms this way against 22–43 ms through from_db, and the ingest path builds one purchase per row
and one shopper per linked card of a batch. It is used only while nobody listens to the model's
init signals: with a listener, instances go through from_db (and __init__) so the listener sees
them. Tests compare the two builds field by field.
"""

from collections.abc import Mapping
from typing import TypeVar

from django.db.models import Model
from django.db.models.base import DEFERRED, ModelState
from django.db.models.signals import post_init, pre_init

M = TypeVar("M", bound=Model)


def builds_without_init(model: type[Model]) -> bool:
    """Whether instances of `model` may skip Model.__init__: nobody listens to its init signals."""
    return not (pre_init.has_listeners(model) or post_init.has_listeners(model))


def instance_built(model: type[M], alias: str, fields: Mapping[str, object]) -> M:
    """The shortcut: an instance holding `fields` (attname → value), loaded from `alias`."""
    instance = model.__new__(model)
    instance.__dict__.update(fields)
    state = instance._state = ModelState()
    state.adding = False
    state.db = alias
    return instance


def instance_from_db(model: type[M], alias: str, fields: Mapping[str, object]) -> M:
    """The same instance through Model.from_db, fields absent from `fields` deferred."""
    concrete = model._meta.concrete_fields
    values = [fields.get(field.attname, DEFERRED) for field in concrete]
    return model.from_db(alias, [field.attname for field in concrete], values)


def stored_instance(
    model: type[M], alias: str, fields: Mapping[str, object], related: Mapping[str, object] | None = None
) -> M:
    """What `model.from_db` builds from `fields`, by the shortcut when nobody listens to init signals."""
    build = instance_built if builds_without_init(model) else instance_from_db
    instance = build(model, alias, fields)
    if related:
        instance._state.fields_cache.update(related)
    return instance
