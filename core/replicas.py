"""Reads that may go to a read replica: the dashboards, when a replica is configured.

A deployment with a streaming replica sets DATABASE_REPLICA_URL; the settings then add the
`replica` database and turn REPLICA_READS on. Nothing reads from the replica unless asked: a view
(or a block of code) marks its reads with `@reads_from_replica` / `replica_reads()`, and only
ORM reads outside a transaction go there. Every write, every read inside a transaction (a read
that decides a write must see the primary), raw SQL through `django.db.connection`, and every
read outside a marked place stay on the primary. A replica is a few seconds behind at most; the
pages that read from it show figures that are already minutes old (insight snapshots say their
age), so the lag is not visible.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"

_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)


def replica_available() -> bool:
    return bool(getattr(settings, "REPLICA_READS", False)) and REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    """ORM reads in this block go to the replica (when there is one and no transaction is open)."""
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def reads_from_replica(view: Callable[..., Any]) -> Callable[..., Any]:
    """A GET or HEAD of this view reads from the replica; any other method stays on the primary."""

    @wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with replica_reads():
            return view(request, *args, **kwargs)

    return wrapper


class ReplicaRouter:
    """Sends marked reads to the replica; everything else, and every migration, to the primary."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if _reading_replica.get() and replica_available() and not connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return REPLICA
        return None  # the default database

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True  # the replica holds the primary's rows: an instance read there may point at one read here

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db == DEFAULT_DB_ALIAS
