"""Settings for the test suite: the development defaults, a fast password hasher.

Worker and web processes started by the integration tests use these settings too, with the
test database and the fake Graph API handed over through the environment.
"""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: F403
from config.settings import (
    CELERY_BROKER_URL,
    DATABASES,
    VAR_DIR,
    filesystem_broker_options,
)

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests talk to the fake Graph API started by a fixture; never to Facebook.
GRAPH_API_URL = os.environ.get("TEST_GRAPH_API_URL", "http://127.0.0.1:9/unset-fake-graph")
GRAPH_API_TIMEOUT = float(os.environ.get("TEST_GRAPH_API_TIMEOUT", "2"))  # a worker's own wait
if os.environ.get("TEST_RETRY_BACKOFF_SECONDS"):  # a worker started by a fault test
    TASK_RETRY_BACKOFF_SECONDS = (float(os.environ["TEST_RETRY_BACKOFF_SECONDS"]),)
if os.environ.get("TEST_MEDIA_ROOT"):  # a worker started by a test shares the test's media
    MEDIA_ROOT = os.environ["TEST_MEDIA_ROOT"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory: worker processes started by the integration tests share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
if CELERY_BROKER_URL.startswith("filesystem://") and "CELERY_BROKER_FOLDER" not in os.environ:
    # Not the folder of `make run`'s worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "test-celery-broker")
