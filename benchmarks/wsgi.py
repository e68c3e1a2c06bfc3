"""gunicorn benchmarks.wsgi: the production application plus /bench/control, in the same process."""

import os

from django.core.wsgi import get_wsgi_application

from config.workers import settle_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
application = get_wsgi_application()
settle_worker()
