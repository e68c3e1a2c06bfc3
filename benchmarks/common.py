"""What the benchmarks share: a scratch database, Django, a seeded merchant, a server, JSON lines.

Every benchmark runs against its own database (`storeloop_bench`, dropped and
created again on the server DATABASE_URL names), so it starts from the same
state each time and never touches the demo or test data.
"""

import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# BENCH_DATABASE picks another name, so two checkouts benchmarking on one server do not drop each other's.
SCRATCH_DATABASE = os.environ.get("BENCH_DATABASE", "storeloop_bench")
# Benchmark-only values: the scratch database never holds anything worth protecting.
SECRET_KEY = "benchmark-only-secret-key-not-for-production-0123456789abcdef"  # noqa: S105


def emit(**figures: Any) -> dict[str, Any]:
    """One figure, one JSON line on stdout."""
    print(json.dumps(figures), flush=True)
    return figures


def note(message: str) -> None:
    """Progress goes to stderr, so stdout holds only the JSON lines."""
    print(message, file=sys.stderr, flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        from config import devdb

        url = devdb.database_url()
    return url


def scratch_database_url() -> str:
    """Drop and create the scratch database on DATABASE_URL's server; its URL."""
    import psycopg

    url = _server_url()
    parts = urlsplit(url)
    maintenance = urlunsplit(parts._replace(scheme="postgresql"))
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{SCRATCH_DATABASE}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{SCRATCH_DATABASE}"')
    return urlunsplit(parts._replace(path=f"/{SCRATCH_DATABASE}"))


def environment(database_url: str) -> dict[str, str]:
    """Production settings (DEBUG off) on the scratch database, for this process and the server alike."""
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "0",
        "SECRET_KEY": SECRET_KEY,
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The API's per-key throttle would otherwise be what is measured.
        "API_RATE_LIMIT": "100000000/min",
    }
    if not os.environ.get("CELERY_BROKER_URL"):
        from config import devdb

        # Tasks queued after commit are really published: to kombu's filesystem transport.
        env["CELERY_BROKER_URL"] = "filesystem://"
        env["CELERY_BROKER_TRANSPORT_OPTIONS"] = devdb.filesystem_broker_options("bench")
    return env


def django_setup(database_url: str) -> dict[str, str]:
    env = environment(database_url)
    os.environ.update(env)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    return env


@dataclass(frozen=True)
class BenchMerchant:
    merchant: Any
    store_ids: list[int]
    api_key: str
    card_tokens: list[str]


def django_setup_existing() -> None:
    """Django in this process on the database DATABASE_URL names, as it is (a loaded demo merchant)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.update({"DEBUG": "0", "SECURE_SSL_REDIRECT": "0", "LOG_LEVEL": "WARNING"})
    # No collectstatic here: plain static URLs, as in the tests.
    os.environ["STATICFILES_BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"
    os.environ.setdefault("SECRET_KEY", SECRET_KEY)
    import django

    django.setup()


def bench_merchant_seed(*, shoppers: int = 3000, purchases: int = 30_000) -> BenchMerchant:
    """A merchant with stores, an API key, and a history (demo.history) whose linked cards the load uses."""
    from decimal import Decimal

    from demo.history import HistorySpec, demo_history_load, demo_tables_analyze
    from merchants import services
    from merchants.models import User
    from merchants.permissions import ALL_API_SCOPES
    from profiles.models import Card

    owner = User.objects.create_user(email="owner@bench.test", password=None)
    merchant = services.merchant_create(
        name="Bench", slug="bench", owner=owner, currency="EUR", timezone_name="Europe/Amsterdam"
    )
    store_ids = [
        services.store_create(
            merchant=merchant,
            actor=owner,
            name=f"Store {number}",
            timezone_name="Europe/Amsterdam",
            latitude=Decimal("52.37"),
            longitude=Decimal("4.89"),
            network_location_ids=[f"BENCH-{number}"],
        ).pk
        for number in (1, 2, 3)
    ]
    _key, secret = services.api_key_create(merchant=merchant, actor=None, name="Bench", scopes=ALL_API_SCOPES)
    demo_history_load(merchant=merchant, spec=HistorySpec(shoppers=shoppers, purchases=purchases, catalogue="fashion"))
    demo_tables_analyze()
    tokens = list(Card.objects.for_merchant(merchant).filter(status="active").values_list("token", flat=True))
    return BenchMerchant(merchant=merchant, store_ids=store_ids, api_key=secret, card_tokens=tokens)


_ITEMS = (
    ("NW-TEE-01", "Organic cotton tee", "Tops", 2495),
    ("NW-TRO-07", "Straight jeans", "Trousers", 7995),
    ("NW-ACC-20", "Socks, 3 pairs", "Accessories", 1495),
    ("NW-SHO-14", "Leather sneakers", "Shoes", 9995),
)


class PurchaseBodies:
    """Unique purchase bodies shaped as the checkout plugins send them; some on linked cards."""

    def __init__(self, *, prefix: str, store_ids: list[int], card_tokens: list[str], seed: int = 1) -> None:
        self.prefix = prefix
        self.store_ids = store_ids
        self.card_tokens = card_tokens
        self.seed = seed
        self.now = datetime.now().astimezone()

    def body(self, rng: random.Random, number: str) -> dict[str, Any]:
        items = [rng.choice(_ITEMS) for _item in range(rng.choice((1, 1, 2, 3)))]
        in_store = rng.random() < 0.75
        body: dict[str, Any] = {
            "external_id": f"{self.prefix}-{number}",
            "amount_minor": sum(price for *_fields, price in items),
            "currency": "EUR",
            "occurred_at": (self.now - timedelta(seconds=rng.randrange(86_400))).isoformat(),
            "channel": "in_store" if in_store else "online",
            "store": rng.choice(self.store_ids) if in_store else None,
            "line_items": [
                {"sku": sku, "name": name, "category": category, "unit_price_minor": price}
                for sku, name, category, price in items
            ],
        }
        if self.card_tokens and rng.random() < 0.4:
            body["card_id"] = rng.choice(self.card_tokens)
        return body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], *, workers: int = 4) -> Iterator[int]:
    """gunicorn with sync workers on a free loopback port, serving benchmarks.wsgi; yields the port."""
    port = free_port()
    log = tempfile.NamedTemporaryFile(prefix="storeloop-bench-", suffix=".log", delete=False)  # noqa: SIM115
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "benchmarks.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync",
        "--timeout",
        "60",
    ]
    server = subprocess.Popen(
        command, cwd=BASE_DIR, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start; see {log.name}")
            time.sleep(0.2)
        yield port
    except BaseException:
        note(f"server log kept: {log.name}")
        raise
    else:
        Path(log.name).unlink(missing_ok=True)
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@contextmanager
def celery_worker(env: dict[str, str], *, concurrency: int, include: str = "") -> Iterator[subprocess.Popen[bytes]]:
    """A real worker (prefork) with the benchmark's settings and the apps' tasks (plus `include`, a module
    of the benchmark's own tasks); mail printed by the console backend is discarded."""
    log = tempfile.NamedTemporaryFile(prefix="storeloop-bench-worker-", suffix=".log", delete=False)  # noqa: SIM115
    # Celery would turn every line the console backend prints into a log record: keep stdout as it is
    # (discarded below), so the hand-off costs what it costs in production, not a logging storm.
    bootstrap = (
        "import sys; from config.celery import app; app.conf.worker_redirect_stdouts = False; "
        "app.worker_main(sys.argv[1:])"
    )
    command = [
        sys.executable, "-c", bootstrap, "worker", "--pool", "prefork",
        "--concurrency", str(concurrency), "--loglevel", "WARNING",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        *(["--include", include] if include else []),
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        cwd=BASE_DIR,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
    )
    try:
        time.sleep(3)
        if process.poll() is not None:
            raise RuntimeError(f"the worker did not start; see {log.name}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        note(f"worker log: {log.name}")


def broker_environment(env: dict[str, str], broker: str) -> dict[str, str]:
    """`env` with tasks going to a real broker (Redis) instead of the filesystem transport, here and in children."""
    env = {**env, "CELERY_BROKER_URL": broker, "CELERY_BROKER_TRANSPORT_OPTIONS": ""}
    os.environ.update(env)
    return env
