"""`make demo`: database, schema, schedule, demo data, then web + worker + beat in one foreground command.

With DATABASE_URL unset it runs the embedded PostgreSQL (config.devdb); with
CELERY_BROKER_URL unset the worker and beat talk over kombu's filesystem
transport in .devdata/demo-broker, so they still run as real separate processes.
Ctrl-C stops everything, the embedded database included.
"""

import os
import subprocess
import sys
from pathlib import Path

from config import devdb

BASE_DIR = Path(__file__).resolve().parent.parent


def _environment() -> tuple[dict[str, str], bool]:
    env = dict(os.environ)
    # The Procfile's commands (gunicorn, celery) live beside this interpreter in .venv/bin.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.setdefault("DEBUG", "1")
    env.setdefault("PORT", "8000")
    # Links in mails (invitations, password resets) point at this demo.
    env.setdefault("SITE_URL", f"http://localhost:{env['PORT']}")
    # A quiet console: one access-log line per request, the worker and beat only when something is wrong, no
    # banners, and a worker pool of threads, so Ctrl-C stops it without each child reporting its SIGTERM.
    env.setdefault("LOG_LEVEL", "WARNING")
    env.setdefault("REQUEST_LOG_LEVEL", "ERROR")
    env.setdefault("CELERY_LOG_LEVEL", "WARNING")
    env.setdefault("CELERY_QUIET", "1")
    env.setdefault("WORKER_POOL", "threads")
    # One worker: nobody to gossip or mingle with, and without them its warm shutdown takes ~3 s, not ~6 s
    # (honcho kills what is still running after 5 s).
    env.setdefault("WORKER_OPTIONS", "--without-mingle --without-gossip --without-heartbeat")
    # Celery's warning about running as root (containers, CI): the demo is a local tool, not a deployment.
    env.setdefault("PYTHONWARNINGS", "ignore:You're running the worker with superuser privileges")
    started_database = False
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = devdb.database_url()
        started_database = True
    if not env.get("CELERY_BROKER_URL"):
        # With a host named, kombu does not warn that it "reverts to localhost" (the transport uses none).
        env["CELERY_BROKER_URL"] = "filesystem://localhost/"
        env["CELERY_BROKER_TRANSPORT_OPTIONS"] = devdb.filesystem_broker_options("demo")
    return env, started_database


def main() -> int:
    env, started_database = _environment()
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    try:
        # Quietly (-v 0): seed_demo still ends with the sign-in and the API key.
        for command in (["migrate", "--noinput"], ["setup_periodic_tasks"], ["seed_demo"]):
            subprocess.run([*manage, *command, "-v", "0"], env=env, check=True, cwd=BASE_DIR)
        port = env["PORT"]
        print(f"\nStoreloop is starting on http://localhost:{port}/  (API docs: http://localhost:{port}/api/docs/)")
        print("Press Ctrl-C to stop the web server, worker, beat and database.\n", flush=True)
        honcho = [sys.executable, "-m", "honcho", "start", "-p", port, "-f", str(BASE_DIR / "Procfile")]
        returncode = subprocess.run(honcho, env=env, cwd=BASE_DIR, check=False).returncode
        # Ctrl-C is how the demo is meant to end, not a failure.
        return 0 if returncode in (130, -2) else returncode
    except KeyboardInterrupt:
        return 0
    except subprocess.CalledProcessError as error:
        return error.returncode
    finally:
        if started_database:
            devdb.stop()


if __name__ == "__main__":
    sys.exit(main())
