"""The settings module as a deployment sees it, run in a fresh process."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings",
    "SECRET_KEY": "x" * 20 + "a-long-random-production-secret-with-variety-1234567890",
    "ALLOWED_HOSTS": "storeloop.example.com",
    "SITE_URL": "https://storeloop.example.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/storeloop"),
}


def _manage(*args, **env):
    # A clean environment: none of the relaxations tests/settings.py put in os.environ.
    base = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_fails_loudly_outside_debug():
    env = {**PRODUCTION, "SECRET_KEY": ""}

    result = _manage("check", **env)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_secret_can_come_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION["SECRET_KEY"] + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "", "SECRET_KEY_FILE": str(secret_file)}

    result = _manage("check", "--deploy", "--fail-level", "WARNING", **env)

    assert result.returncode == 0, result.stderr


def test_malformed_value_fails_loudly():
    result = _manage("check", **{**PRODUCTION, "DATABASE_CONN_MAX_AGE": "sixty"})

    assert result.returncode != 0
    assert "sixty" in result.stderr
