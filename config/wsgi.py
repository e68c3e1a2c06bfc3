import os

from django.core.wsgi import get_wsgi_application

from config.workers import settle_worker

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
settle_worker()
