from django.test import Client


def test_a_body_over_the_limit_is_a_json_413_naming_the_limit(settings, api_client):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_client.post("/api/v1/purchases", "x" * 5000, content_type="application/json")

    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "body_too_large"
    assert "1000 bytes" in response.json()["error"]["message"]


def test_a_page_body_over_the_limit_is_a_413_too(settings, db):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = Client().post("/s/kiosk/any/", "x" * 5000, content_type="application/x-www-form-urlencoded")

    assert response.status_code == 413
    assert "1000 bytes" in response.content.decode()
