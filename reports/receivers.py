"""The lifecycle hooks of agent_desktop, followed by the cycle table (reports.cycles)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from agent_desktop import lifecycle
from agent_desktop.models import Activity
from reports import csat, cycles


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


# Connected after the cycle receiver above: the cycle is closed when the survey is asked.
@receiver(post_save, sender=Activity, dispatch_uid="reports.csat_on_close")
def _csat_on_close(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.kind == Activity.Kind.CLOSED:
        csat.conversation_closed(instance)


@receiver(lifecycle.survey_answered, dispatch_uid="reports.survey_answered")
def _survey_answered(sender, answers, **kwargs):
    return csat.answers_received(answers)


@receiver(lifecycle.customers_texted, dispatch_uid="reports.customers_texted")
def _customers_texted(sender, texts, **kwargs):
    csat.texts_received(texts)
