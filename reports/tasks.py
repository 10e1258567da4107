"""Celery tasks of reports: thin; the work is in reports.rollup."""

from celery import shared_task

from reports import rollup


@shared_task
def roll_message_days():
    """Count the last days' messages into MessageDay (beat, every 5 minutes)."""
    return rollup.roll()
