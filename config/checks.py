"""System checks for a production deployment (DEBUG=0): what would run, but not as meant.

`manage.py check --deploy --fail-level WARNING` must pass on a production install; each message
says what to set instead.
"""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security)
def check_sandbox_off_in_production(app_configs, **kwargs):
    """The sandbox serves a fake Graph API and a customer simulator to anyone who can reach the
    app. Not a deploy-only check, so `check`, `migrate` and `runserver` refuse as well."""
    if settings.DEBUG or not settings.SANDBOX or settings.SANDBOX_IN_PRODUCTION:
        return []
    return [
        Error(
            "SANDBOX is on while DEBUG is off: the fake Graph API and the customer simulator "
            "would be served in production.",
            hint="Set SANDBOX=0 (the production default). To run a public demo on the sandbox "
            "on purpose, also set SANDBOX_IN_PRODUCTION=1.",
            id="config.E001",
        )
    ]


@register("config", deploy=True)
def check_production_services(app_configs, **kwargs):
    """The embedded defaults (SQLite, the file-system broker) are for one machine in
    development: production runs on PostgreSQL and Redis (README, "Running at scale")."""
    if settings.DEBUG:
        return []
    warnings = []
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        warnings.append(
            Warning(
                "The database is SQLite (the embedded development default).",
                hint="Set DATABASE_URL to PostgreSQL, e.g. postgres://user:pass@host:5432/name.",
                id="config.W001",
            )
        )
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        warnings.append(
            Warning(
                "The Celery broker is the embedded file-system broker (the development "
                "default), which only processes on this machine can share.",
                hint="Set CELERY_BROKER_URL to Redis, e.g. redis://host:6379/0.",
                id="config.W002",
            )
        )
    return warnings
