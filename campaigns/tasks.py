"""Celery tasks of the campaigns app: thin; the work is in campaigns.audit."""

import logging

from celery import shared_task

from campaigns.audit import audit_prune

logger = logging.getLogger(__name__)


@shared_task
def prune_audit_log():
    """Daily: drop audit entries older than a year (running it twice drops nothing more)."""
    pruned = audit_prune()
    logger.info("audit log pruned: %s entries older than a year", pruned)
    return pruned
