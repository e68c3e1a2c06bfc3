"""Sign-in as staff meet it: password reset, two-factor codes, and the admin behind the same MFA."""

import time

import pytest
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from django.core import mail
from django.urls import reverse

from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def _current_code(secret):
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_password_reset_mails_a_working_link(client, owner):
    response = client.post(reverse("account_reset_password"), {"email": owner.email})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_staff_with_an_authenticator_must_give_a_code(client, owner):
    secret = generate_totp_secret()
    TOTP.activate(owner, secret)

    first_step = client.post(reverse("account_login"), {"login": owner.email, "password": TEST_PASSWORD})
    before_code = client.get(reverse("dashboard"))
    second_step = client.post(reverse("mfa_authenticate"), {"code": _current_code(secret)})
    after_code = client.get(reverse("dashboard"))

    assert first_step.url == reverse("mfa_authenticate")
    assert before_code.status_code == 302
    assert second_step.status_code == 302
    assert after_code.status_code == 200


def test_wrong_code_is_refused(client, owner):
    TOTP.activate(owner, generate_totp_secret())
    client.post(reverse("account_login"), {"login": owner.email, "password": TEST_PASSWORD})

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})

    assert response.status_code == 200
    assert client.get(reverse("dashboard")).status_code == 302


def test_admin_needs_a_superuser_with_an_authenticator(client_for):
    superuser = UserFactory(is_staff=True, is_superuser=True)
    client = client_for(superuser)

    without_mfa = client.get("/admin/")
    TOTP.activate(superuser, generate_totp_secret())
    with_mfa = client.get("/admin/")

    assert without_mfa.status_code == 302
    assert with_mfa.status_code == 200


def test_admin_sign_in_goes_through_the_staff_sign_in_page(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_staff_who_are_not_superusers_do_not_reach_the_admin(owner_client):
    response = owner_client.get("/admin/")

    assert response.status_code in (302, 403)
