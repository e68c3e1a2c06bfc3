"""A connection the database dropped (a restart) fails one request with 503 and Retry-After; the next reconnects."""

import psycopg
import pytest
from django.db import close_old_connections, connection
from django.urls import reverse

from profiles.models import Purchase
from tests.profiles.test_api import post, purchase_body

# The application's own URLs and error handlers, whatever another test left in place.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.urls("config.urls")]


@pytest.fixture(autouse=True)
def _fresh_connection_after():
    yield
    connection.close()  # however the test ended, the teardown's flush gets a working connection


def _drop_our_connection() -> None:
    """What a database restart does to a web process's kept connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def test_a_dropped_connection_is_a_503_with_retry_after_then_the_next_request_reconnects(api_client, merchant):
    api_client.raise_request_exception = False  # answer as the server would
    _drop_our_connection()

    first = post(api_client, "api_purchase_create", purchase_body(), key="after-restart")

    assert first.status_code == 503
    assert int(first["Retry-After"]) > 0
    assert first.json()["error"]["code"] == "database_unavailable"
    # the end of a request, as the server runs it (the test client leaves it out)
    close_old_connections()

    again = post(api_client, "api_purchase_create", purchase_body(), key="after-restart")

    assert again.status_code == 201, again.content
    assert Purchase.objects.filter(merchant=merchant).count() == 1


def test_a_page_meeting_a_dropped_connection_is_a_503_too(client, owner):
    client.force_login(owner)
    client.raise_request_exception = False
    _drop_our_connection()

    response = client.get(reverse("profiles:shopper_list"))

    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    close_old_connections()
    assert client.get(reverse("profiles:shopper_list")).status_code == 200
