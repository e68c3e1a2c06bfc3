"""The insight pages' freshness note while a refresh runs: it polls itself, and offers the new figures once
they are in."""

from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from insights.models import InsightSnapshot
from insights.services import REFRESH_LOCK_CLASS, insights_refresh
from tests.profiles.factories import PurchaseFactory, ShopperFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/insights/lifecycle/?period=7d"}


@contextmanager
def _refresh_running(merchant):
    """What a running refresh holds until it commits, held by another session (the worker's)."""
    with psycopg.connect(**connection.get_connection_params()) as worker, worker.transaction():
        worker.execute("SELECT pg_advisory_xact_lock(%s, %s)", [REFRESH_LOCK_CLASS, merchant.pk])
        yield


def test_a_page_opened_during_a_refresh_says_so_and_polls(owner_client, merchant):
    InsightSnapshot.objects.create(merchant=merchant, section="meta", computed_at=timezone.now(), data={})

    with _refresh_running(merchant):
        page = owner_client.get(reverse("insights:overview")).content.decode()
        note = owner_client.get(reverse("insights:freshness"), **HTMX).content.decode()

    assert "Shopper-level figures are being recomputed now" in page
    assert 'hx-get="/insights/freshness/?shown=' in page
    assert 'hx-trigger="every 3s"' in note


@pytest.mark.django_db(transaction=True)  # the refresh commits, and with it lets go of its lock
def test_once_the_refresh_is_in_the_note_offers_the_new_figures_and_stops_polling(owner_client, merchant):
    before = timezone.now() - timedelta(minutes=20)
    shopper = ShopperFactory(merchant=merchant)
    PurchaseFactory(merchant=merchant, shopper=shopper)

    insights_refresh(merchant=merchant, force=True)
    response = owner_client.get(reverse("insights:freshness"), {"shown": str(int(before.timestamp()))}, **HTMX)

    note = response.content.decode()
    assert "New shopper-level figures are ready" in note
    assert 'href="/insights/lifecycle/?period=7d"' in note
    assert "hx-trigger" not in note


def test_before_the_first_refresh_the_note_keeps_asking(owner_client, merchant):
    note = owner_client.get(reverse("insights:freshness"), {"shown": ""}, **HTMX).content.decode()

    assert "being computed for the first time" in note
    assert 'hx-trigger="every 3s"' in note


def test_nothing_new_keeps_the_usual_note(owner_client, merchant):
    computed_at = timezone.now() - timedelta(minutes=5)
    InsightSnapshot.objects.create(merchant=merchant, section="meta", computed_at=computed_at, data={})

    note = owner_client.get(
        reverse("insights:freshness"), {"shown": str(int(computed_at.timestamp()))}, **HTMX
    ).content.decode()

    assert "were computed 5" in note
    assert "hx-trigger" not in note


def test_store_staff_may_not_poll_the_note(store_staff, client_for):
    response = client_for(store_staff).get(reverse("insights:freshness"))

    assert response.status_code == 403
