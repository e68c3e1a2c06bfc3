"""The API against its own OpenAPI document, fuzzed in-process (WSGI) by schemathesis: no request, however
odd, gets a 500, and every answer is one the document describes (status, media type, body, headers).

Brief and deterministic, so CI runs it with the suite: a few examples per operation, a fixed derandomized
search, no example database. Run longer locally with FUZZ_EXAMPLES=500.
"""

import json
import os

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.payments.helpers import make_source
from tests.profiles.factories import CardFactory, PurchaseFactory, ShopperFactory

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


def _api_document() -> dict:
    """The OpenAPI document exactly as /api/schema/ serves it (built without a request: the test database
    is not open while tests are collected)."""
    generator = SchemaGenerator()
    return json.loads(OpenApiJsonRenderer().render(generator.get_schema(request=None, public=True)))


schema = schemathesis.openapi.from_dict(_api_document())
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection():
    """A finished request must not close this test's connection (it holds the test's transaction), as
    Django's own test client arranges."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(merchant, store):
    """Ids of real objects of the test merchant, so requests reach past the 404 into the views (unknown ids
    are the document's own 404, tested elsewhere)."""
    shopper = ShopperFactory(merchant=merchant)
    card = CardFactory(shopper=shopper)
    purchase = PurchaseFactory(merchant=merchant, shopper=shopper, card=card, store=store, channel="in_store")
    feed = make_source(merchant, "generic")  # our own feed format, at its old address and its new one
    return {
        "shopper_id": str(shopper.public_id),
        "card_id": str(card.public_id),
        "purchase_id": str(purchase.public_id),
        "connection_id": str(feed.public_id),
        "source_id": str(feed.public_id),
        "store_id": str(store.pk),
    }


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_answers_every_request_as_its_document_says(case, api_key_pair, known_ids):
    _key, secret = api_key_pair
    for name in (case.path_parameters or {}).keys() & known_ids.keys():
        if case.path_parameters[name] is not None and _is_valid(case, name):
            case.path_parameters[name] = known_ids[name]
    case.call_and_validate(headers={"Authorization": f"Api-Key {secret}"}, checks=CHECKS)


def _is_valid(case, name) -> bool:
    """Whether the fuzzer meant a well-formed id here (a malformed one is left to be refused)."""
    value = str(case.path_parameters[name])
    return value.isdigit() if name == "store_id" else len(value) == 36 and value.count("-") == 4
