"""Settings from the environment: SQLite tuned for a web server + worker. (Production settings:
tests/security/test_access.py.)"""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        assert connection.vendor == "postgresql"
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        journal_mode = cursor.fetchone()[0]
        cursor.execute("PRAGMA busy_timeout")
        busy_timeout = cursor.fetchone()[0]
    # Tests use an in-memory database, which has no WAL; the file database of `make run` has.
    assert journal_mode in {"wal", "memory"}
    assert busy_timeout == 20000
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
