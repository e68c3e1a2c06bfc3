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


def start_worker(*, log: Path | None = None, **environment: str) -> subprocess.Popen:
    """A worker process (one, solo pool) on the test database and the configured broker; `environment` adds to it.

    Its output is read from `stdout`, or written to `log` (for a worker that logs more than a pipe holds).
    """
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        # The worker must see the rows this test commits: point it at the test database.
        "DATABASE_URL": _database_url(database),
        **environment,
    }
    return subprocess.Popen(
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
        stdout=subprocess.PIPE if log is None else log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
    )


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def worker():
    process = start_worker()
    yield process
    stop_worker(process)


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
