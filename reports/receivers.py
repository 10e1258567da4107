"""The lifecycle hooks of agent_desktop, followed by the cycle table (reports.cycles)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from agent_desktop import lifecycle
from agent_desktop.models import Activity
from reports import cycles


@receiver(lifecycle.customers_wrote, dispatch_uid="reports.customers_wrote")
def _customers_wrote(sender, opened, **kwargs):
    cycles.customers_wrote(opened)


@receiver(lifecycle.agent_replied, dispatch_uid="reports.agent_replied")
def _agent_replied(sender, contact, agent, at, **kwargs):
    cycles.agent_replied(contact, agent, at)


@receiver(post_save, sender=Activity, dispatch_uid="reports.activity_recorded")
def _activity_recorded(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        cycles.activity_recorded(instance)
