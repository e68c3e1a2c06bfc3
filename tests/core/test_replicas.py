"""Dashboards read from the read replica when one is configured; writes and permission checks do not."""

import pytest
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from core.replicas import REPLICA, ReplicaRouter, replica_reads
from insights import services
from insights.models import InsightSnapshot
from profiles.models import Shopper
from tests.insights.insight_data import NOW, history_load

TWO_DATABASES = ["default", REPLICA]


def _tables(queries):
    return " ".join(query["sql"] for query in queries)


@pytest.mark.django_db(transaction=True, databases=TWO_DATABASES)
@override_settings(REPLICA_READS=True)
def test_an_insight_page_reads_its_figures_from_the_replica_and_checks_permissions_on_the_primary(
    merchant, owner_client
):
    history_load(merchant, shoppers=30, purchases=200)
    services.insights_refresh(merchant=merchant, now=NOW)

    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = owner_client.get(reverse("insights:overview"))

    assert response.status_code == 200
    assert InsightSnapshot._meta.db_table in _tables(on_replica.captured_queries)
    assert InsightSnapshot._meta.db_table not in _tables(on_primary.captured_queries)
    # who may see the page is decided on the primary: a role just taken away is never read stale
    assert "merchants_staffmembership" in _tables(on_primary.captured_queries)


@pytest.mark.django_db(transaction=True, databases=TWO_DATABASES)
@override_settings(REPLICA_READS=True)
def test_reads_inside_a_transaction_and_every_write_stay_on_the_primary(merchant):
    router = ReplicaRouter()

    with replica_reads():
        assert router.db_for_read(Shopper) == REPLICA
        assert router.db_for_write(Shopper) == "default"
        with transaction.atomic():  # a read that decides a write must see the primary
            assert router.db_for_read(Shopper) is None
    assert router.db_for_read(Shopper) is None  # outside a marked place


@pytest.mark.django_db
def test_without_a_replica_every_read_stays_on_the_primary():
    with replica_reads():
        assert ReplicaRouter().db_for_read(Shopper) is None


def test_migrations_run_on_the_primary_only():
    router = ReplicaRouter()

    assert router.allow_migrate("default", "profiles") is True
    assert router.allow_migrate(REPLICA, "profiles") is False
