"""A real Celery worker on the configured broker (Redis in CI, the filesystem transport locally)."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from config.celery import app
from merchants.tasks import clear_expired_sessions

BASE_DIR = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker():
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # The worker must see the rows this test commits: point it at the test database.
        "DATABASE_URL": _database_url(database),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "--app",
            "config",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _database_url(database):
    host = database["HOST"] or database.get("OPTIONS", {}).get("host", "")
    if host.startswith("/"):
        return f"postgres://{database['USER']}@/{database['NAME']}?host={host}"
    port = f":{database['PORT']}" if database["PORT"] else ""
    return f"postgres://{database['USER']}:{database['PASSWORD']}@{host}{port}/{database['NAME']}"


@pytest.fixture
def not_eager():
    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


def test_worker_runs_a_task_sent_through_the_broker(worker, not_eager):
    from django.contrib.sessions.backends.db import SessionStore

    expired = SessionStore()
    expired.create()
    Session.objects.filter(session_key=expired.session_key).update(expire_date=timezone.now() - timedelta(days=1))
    live = SessionStore()
    live.create()

    clear_expired_sessions.delay()

    deadline = time.monotonic() + 60
    while Session.objects.filter(session_key=expired.session_key).exists():
        if worker.poll() is not None:
            pytest.fail("worker exited:\n" + worker.stdout.read())
        if time.monotonic() > deadline:
            worker.terminate()
            pytest.fail("task did not run within 60 s:\n" + worker.communicate(timeout=20)[0])
        time.sleep(0.2)
    assert Session.objects.filter(session_key=live.session_key).exists()
