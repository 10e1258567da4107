"""Settings for the test suite: the development defaults, a fast password hasher."""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests talk to the fake Graph API started by a fixture; never to Facebook.
GRAPH_API_URL = "http://127.0.0.1:9/unset-fake-graph"
GRAPH_API_TIMEOUT = 2.0
FACEBOOK_MEDIA_HOSTS = [*FACEBOOK_MEDIA_HOSTS, "127.0.0.1"]  # noqa: F405 (the fake Graph API)
