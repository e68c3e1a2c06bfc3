"""Test settings: the environment the test run needs, then the one settings module.

Only values that must differ from a deployment are set here; everything else is
config/settings.py as production runs it (DEBUG off).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("LOG_FORMAT", "json")
# Tasks run in-process unless a test starts a real worker (tests/test_celery_worker.py).
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
# Text messages land in profiles.sms.outbox, as mail lands in django.core.mail.outbox.
os.environ.setdefault("SMS_BACKEND", "profiles.sms.LocmemBackend")
# Files written by a test run (uploads, exports) go to a directory of its own, never the checkout.
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="storeloop-test-media-"))

# Webhook deliveries go to a receiver on this machine.
os.environ.setdefault("OUTBOUND_WEBHOOKS_ALLOW_PRIVATE", "1")

from config.settings import *  # noqa: F403

# Fast by construction: a cheap hasher.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
ACCOUNT_RATE_LIMITS = False

# A second database alias, `replica`, mirrors the test database (as a streaming replica would the
# primary). Reads are routed to it only where a test turns REPLICA_READS on (tests/core/test_replicas.py).
DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}  # noqa: F405
REPLICA_READS = False
