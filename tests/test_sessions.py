"""config.sessions (Django's cached_db on the desk cache) when the database is the part that is
down."""

import logging
import traceback

import pytest
from django.conf import settings
from django.core.cache import caches
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

REFUSED = 'connection to server at "127.0.0.1", port 5432 failed: Connection refused'


def database_down(execute, sql, params, many, context):
    raise OperationalError(REFUSED)


@pytest.mark.django_db
def test_with_the_database_down_the_log_names_the_database_error_alone(agent, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    caches[settings.SESSION_CACHE_ALIAS].clear()  # no copy: the session is read from the database
    with (
        caplog.at_level(logging.ERROR, logger="django.request"),
        connection.execute_wrapper(database_down),
    ):
        response = client.get(reverse("profile:home"))
    assert response.status_code == 500
    [record] = [r for r in caplog.records if r.name == "django.request"]
    logged = "".join(traceback.format_exception(*record.exc_info))
    assert record.exc_info[0] is OperationalError and REFUSED in logged
    # Not "AttributeError: 'SessionStore' object has no attribute '_session_cache'" first.
    assert "AttributeError" not in logged
    assert "During handling of the above exception" not in logged
