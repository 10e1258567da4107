"""Celery tasks of the desktop: thin; the work is in agent_desktop.workflow."""

from celery import shared_task

from agent_desktop import workflow


@shared_task
def wake_snoozed_contacts():
    """Snoozed contacts whose time has come are open again (beat, every minute)."""
    return workflow.wake_snoozed()
