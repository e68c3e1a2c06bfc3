"""The feed's signature header, however hostile: a clear 4xx, never a 500."""

import json

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from payments.models import PaymentEvent
from tests.payments.helpers import make_source

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("timestamp", ["9" * 400, "-" + "9" * 400, "1e308", "", "nan"])
def test_a_signature_with_an_absurd_timestamp_is_refused_without_a_crash(merchant, timestamp):
    connection = make_source(merchant, "generic")
    body = json.dumps({"id": "evt-1", "type": "transaction.auth", "transaction": {}}).encode()

    response = APIClient(raise_request_exception=False).post(
        reverse("api_network_events", args=[connection.public_id]),
        data=body,
        content_type="application/json",
        HTTP_STORELOOP_SIGNATURE=f"t={timestamp},v1=00",
    )

    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    assert not PaymentEvent.objects.filter(merchant=merchant).exists()
