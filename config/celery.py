"""The Celery app: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals

from config.logging import RedactSecrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("campaign_builder")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Celery's Django fixup closes the database connections before and after every task unless
# DB_REUSE_MAX is set, so each task opened a new PostgreSQL connection: a backend fork and a
# login, often more time than the task itself (README, "Performance"). Tasks keep their
# connection the way web requests do instead (below); the fixup's own recycling is pushed out
# of the way. A lazy default, so CELERY_DB_REUSE_MAX in the settings still wins.
app.add_defaults(lambda: {"CELERY_DB_REUSE_MAX": 1_000_000})


@signals.task_prerun.connect
@signals.task_postrun.connect
def reuse_database_connections(sender=None, **kwargs):
    """Around each task, what Django does around each request: close a connection older than
    CONN_MAX_AGE or left broken by an error, and health-check the kept one before its next use
    (CONN_HEALTH_CHECKS). Not for eager tasks: they run inside the caller's transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def redact_secrets_in_worker_logs(logger, **kwargs):
    """A worker replaces the root logger's handlers with its own, which lack the settings'
    filter: at DEBUG, urllib3 would log Graph URLs with their access tokens."""
    for handler in logger.handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(RedactSecrets())
