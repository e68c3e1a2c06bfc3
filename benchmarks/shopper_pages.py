"""shopper_pages: first-load transfer size and server time of each shopper page, against /healthz.

    python -m benchmarks.shopper_pages [--requests 200]

For each page (kiosk signup, kiosk welcome after a signup, Wi-Fi signup, email confirmation,
preference centre, account deletion, unsubscribe), in English and Arabic:
- transfer: the HTML and every stylesheet and script it loads, each gzip-compressed (level 6,
  what WhiteNoise serves for static files and a compressing proxy for HTML) — the bytes a phone
  on captive-portal Wi-Fi downloads on a first visit; the uncompressed total too;
- server time: p50 and p95 of the whole Django stack (middleware, view, template, queries) in
  this process through Django's test client, no network, after a warm-up; the baseline is
  /healthz (the same middleware, no view work) in the same run, and the ratio is p50 ours / baseline.
The kiosk signup POST (a new shopper, contacts, consents, a visit, the confirmation email queued)
is timed the same way. Prints one JSON line per page and language.
"""

import argparse
import gzip
import os
import re
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from benchmarks.common import _server_url, django_setup, emit, note, percentile

NAME = "shopper_pages"
# A scratch database of its own, so this never drops one another benchmark is using.
SCRATCH_DATABASE = "storeloop_bench_shopper_pages"
LIMIT_UNLIMITED = "1000000/second"


def _gzip_size(body: bytes) -> int:
    return len(gzip.compress(body, compresslevel=6))


def _assets(html: str) -> list[str]:
    return re.findall(r'<(?:link rel="stylesheet" href|script src)="([^"]+)"', html)


def _asset_bytes(url: str) -> bytes:
    from django.conf import settings
    from django.contrib.staticfiles import finders

    path = finders.find(url.removeprefix(settings.STATIC_URL))
    if path is None:
        raise RuntimeError(f"static file not found: {url}")
    with open(path, "rb") as handle:
        return handle.read()


def _scratch_database_url() -> str:
    import psycopg

    parts = urlsplit(_server_url())
    with psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{SCRATCH_DATABASE}"')
    return urlunsplit(parts._replace(path=f"/{SCRATCH_DATABASE}"))


def _timed(call: Any, requests: int) -> tuple[list[float], Any]:
    for _warm in range(min(20, requests)):
        response = call()
    times = []
    for _request in range(requests):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
    return times, response


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (after 20 warm-up)")
    args = parser.parse_args()

    database_url = _scratch_database_url()
    os.environ.update(
        {
            # Plain static storage: no collectstatic needed, the files are read where they are.
            "STATICFILES_BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage",
            "SIGNUP_POINT_RATE_LIMIT": LIMIT_UNLIMITED,
            "SHOPPER_IP_RATE_LIMIT": LIMIT_UNLIMITED,
            "SMS_CODE_PHONE_RATE_LIMIT": LIMIT_UNLIMITED,
            "SMS_CODE_KIOSK_RATE_LIMIT": LIMIT_UNLIMITED,
            "SMS_BACKEND": "profiles.sms.LocmemBackend",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "CELERY_TASK_ALWAYS_EAGER": "1",
            # One log line per request to stderr would be most of what is measured, for ours and the baseline alike.
            "LOG_LEVEL": "WARNING",
        }
    )
    note("migrating the scratch database…")
    django_setup(database_url)

    from django.test import Client

    from merchants import services as merchant_services
    from merchants.models import User
    from profiles import links
    from profiles.models import ContactKind, ContactPoint, JoinedVia, Shopper, SignupPointKind
    from profiles.services import signup

    owner = User.objects.create_user(email="owner@bench.test", password=None)
    merchant = merchant_services.merchant_create(name="Bench Outfitters", slug="bench-shop", owner=owner)
    store = merchant_services.store_create(
        merchant=merchant, actor=owner, name="Riverside Mall", timezone_name="Europe/Amsterdam"
    )
    _kiosk, kiosk_token = signup.signup_point_create(
        merchant=merchant, actor=owner, store=store, kind=SignupPointKind.KIOSK, name="Kiosk", has_card_reader=True
    )
    _wifi, wifi_token = signup.signup_point_create(
        merchant=merchant,
        actor=owner,
        store=store,
        kind=SignupPointKind.WIFI,
        name="Wi-Fi",
        redirect_url="https://example.com/",
    )
    shopper = Shopper.objects.create(merchant=merchant, first_name="Ana", joined_via=JoinedVia.KIOSK)
    contact = ContactPoint.objects.create(
        merchant=merchant, shopper=shopper, kind=ContactKind.EMAIL, value="ana@example.com"
    )
    client = Client(SERVER_NAME="localhost")
    counter = iter(range(10**9))

    def kiosk_post(language: str) -> Any:
        number = next(counter)
        return client.post(
            f"/s/kiosk/{kiosk_token}/",
            {
                "lang": language,
                "first_name": "Sam",
                "email": f"sam{number}@example.com",
                "consent_email_marketing": "on",
            },
        )

    pages = {
        "kiosk_signup": lambda q: client.get(f"/s/kiosk/{kiosk_token}/{q}"),
        "kiosk_welcome (POST signup)": None,
        "wifi_signup": lambda q: client.get(f"/s/wifi/{wifi_token}/{q}"),
        "confirm_email": lambda q: client.get(f"/s/confirm/{links.email_confirmation_token(contact)}/{q}"),
        "preference_centre": lambda q: client.get(f"/s/preferences/{links.preference_centre_token(shopper)}/{q}"),
        "delete_account": lambda q: client.get(f"/s/preferences/{links.preference_centre_token(shopper)}/delete/{q}"),
        "unsubscribe": lambda q: client.get(
            f"/s/unsubscribe/{links.unsubscribe_token(shopper, channel='email', purpose='marketing')}/{q}"
        ),
    }
    baseline_times, _response = _timed(lambda: client.get("/healthz"), args.requests)
    baseline_p50 = percentile(baseline_times, 0.5)
    for language in ("en", "ar"):
        query = f"?lang={language}"
        for page, call in pages.items():
            if call is None:
                times, response = _timed(lambda language=language: kiosk_post(language), args.requests)
            else:
                times, response = _timed(lambda call=call, query=query: call(query), args.requests)
            if response.status_code != 200:
                raise RuntimeError(f"{page} answered {response.status_code}")
            html = response.content
            assets = _assets(html.decode())
            asset_bodies = [_asset_bytes(url) for url in assets]
            transfer = _gzip_size(html) + sum(_gzip_size(body) for body in asset_bodies)
            emit(
                bench=NAME,
                page=page,
                language=language,
                transfer_gzip_bytes=transfer,
                html_gzip_bytes=_gzip_size(html),
                uncompressed_bytes=len(html) + sum(len(body) for body in asset_bodies),
                assets=len(assets),
                ours_p50_ms=round(percentile(times, 0.5), 2),
                ours_p95_ms=round(percentile(times, 0.95), 2),
                baseline_p50_ms=round(baseline_p50, 2),
                ratio=round(percentile(times, 0.5) / baseline_p50, 1) if baseline_p50 else None,
            )


if __name__ == "__main__":
    main()
