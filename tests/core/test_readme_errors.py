"""The README's error section shows the 404, 413 and 503 answers as the API gives them."""

import json
import re
from pathlib import Path

import pytest
from django.db import OperationalError
from django.test import Client, RequestFactory

from config.views import server_error

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented() -> dict[int, tuple[dict, str]]:
    """{status: (body, headers text)} of each answer shown in the README's example block."""
    section = README.read_text().split("## API", 1)[1].split("\n### ", 1)[0]
    answers = re.findall(r"HTTP/1\.1 (\d{3}) [^\n]*\n(.*?)\n(\{.*?\})\n", section, re.DOTALL)
    return {int(status): (json.loads(body), headers) for status, headers, body in answers}


def test_the_readme_shows_the_404_413_and_503_answers():
    assert sorted(_documented()) == [404, 413, 503]


@pytest.mark.django_db
def test_an_unknown_api_path_answers_as_the_readme_shows():
    response = Client().post("/api/v1/no-such-thing", "{}", content_type="application/json")

    body, headers = _documented()[404]
    assert response.status_code == 404
    assert "Content-Type: application/json" in headers and response["Content-Type"] == "application/json"
    assert response.json() == body


def test_a_body_over_the_limit_answers_as_the_readme_shows(api_client):
    response = api_client.post("/api/v1/purchases", "x" * 2_700_000, content_type="application/json")

    body, _headers = _documented()[413]
    assert response.status_code == 413
    assert response.json() == body


def test_the_database_away_answers_as_the_readme_shows():
    request = RequestFactory().post("/api/v1/purchases")
    try:
        raise OperationalError("the database system is shutting down")
    except OperationalError:
        response = server_error(request)

    body, headers = _documented()[503]
    assert response.status_code == 503
    assert f"Retry-After: {response['Retry-After']}" in headers
    assert json.loads(response.content) == body
