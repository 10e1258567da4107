"""Celery tasks of the desktop: thin; the work is in agent_desktop.workflow and .assignment."""

from celery import shared_task

from agent_desktop import assignment, workflow


@shared_task
def wake_snoozed_contacts():
    """Snoozed contacts whose time has come are open again (beat, every minute)."""
    return workflow.wake_snoozed()


@shared_task
def assign_waiting_contacts():
    """Conversations still waiting in campaigns that assign automatically (beat, every minute:
    the safety net behind the assignments made as things happen)."""
    return assignment.assign_all_waiting()
