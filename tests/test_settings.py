"""Settings from the environment: SQLite tuned for a web server and a worker writing at once,
PostgreSQL connections kept and health-checked. Each is checked in a process of its own started
with that `DATABASE_URL`, so both are checked whichever database the suite runs on. (Production
settings: tests/security/test_access.py.)"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Prints what the settings made of DATABASE_URL and, for SQLite, what the connection runs with.
DATABASE_REPORT = """
import json
from django.db import connection
report = {"settings": {k: v for k, v in connection.settings_dict.items() if k.startswith("CONN")}}
report["options"] = connection.settings_dict["OPTIONS"]
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        for pragma in ("journal_mode", "synchronous", "busy_timeout"):
            cursor.execute(f"PRAGMA {pragma}")
            report[pragma] = cursor.fetchone()[0]
print(json.dumps(report))
"""


def database_report(database_url, var_dir):
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PYTEST")) and k != "CONN_MAX_AGE"
    }
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEBUG": "1",
        "DATABASE_URL": database_url,
        "VAR_DIR": str(var_dir),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", DATABASE_REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_sqlite_database_runs_in_wal_mode_with_a_busy_timeout_and_immediate_writes(tmp_path):
    report = database_report(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path)
    assert report["journal_mode"] == "wal"
    assert report["synchronous"] == 1  # NORMAL: safe with WAL, without a sync on every commit
    assert report["busy_timeout"] == 20000
    assert report["options"]["transaction_mode"] == "IMMEDIATE"


def test_postgresql_connections_are_kept_and_checked_before_use(tmp_path):
    # Nothing connects: only the settings made of the URL are read.
    report = database_report("postgres://app@db.example.com:5432/campaigns", tmp_path)
    assert report["settings"] == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
