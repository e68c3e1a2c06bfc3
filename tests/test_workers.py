import gc
import os
import subprocess
import sys

from django.conf import settings


def test_a_web_worker_settles_with_its_modules_frozen_out_of_collections():
    """The WSGI module loads the application, imports the URLconf and freezes it (config.workers)."""
    script = (
        "import gc, sys; import config.wsgi; "
        "assert 'profiles.api' in sys.modules, 'views not imported'; "
        "print(gc.get_freeze_count(), gc.get_threshold()[0])"
    )
    passed_on = {key: value for key, value in os.environ.items() if key in ("DATABASE_URL", "SECRET_KEY", "HOME")}
    env = {**passed_on, "DJANGO_SETTINGS_MODULE": "tests.settings"}

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=settings.BASE_DIR, check=False
    )

    assert done.returncode == 0, done.stderr[-2000:]
    frozen, threshold = (int(value) for value in done.stdout.split())
    assert frozen > 50_000  # Django, DRF and every app's modules
    assert threshold == 20_000
    assert gc.get_freeze_count() == 0  # the test process itself is untouched
