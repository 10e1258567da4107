"""Saves and deletes that change what a desk shows give it fresh change tokens
(agent_desktop.desk_versions); update() and bulk_create() do it in the models' QuerySets."""

from django.contrib.auth import get_user_model
from django.db.models.signals import m2m_changed, post_delete, post_save

from agent_desktop import desk_versions
from agent_desktop.models import Activity, Contact, Label, Message, Note, desk_changed
from campaigns import team
from campaigns.models import Campaign, EntryPoint


def contacts_changed(contact_ids):
    """For writes that bypass the models' QuerySets and signals (update_rows, other apps' rows
    shown with a contact): fresh tokens for these contacts and their campaigns."""
    desk_changed(contact_ids=contact_ids)


def _contact_row_changed(sender, instance, **kwargs):
    desk_versions.changed(
        contact_ids=[instance.pk], campaign_ids=[instance.entry_point.campaign_id]
    )


def _contact_part_changed(sender, instance, **kwargs):
    contacts_changed([instance.contact_id])


def _labels_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if not action.startswith("post_"):
        return
    if isinstance(instance, Contact):
        contacts_changed([instance.pk])
    elif pk_set:
        contacts_changed(pk_set)
    else:  # a label's clear(): which contacts it had is gone
        desk_versions.everything_changed()


def _desk_shape_changed(sender, update_fields=None, **kwargs):
    """Memberships, roles, names, campaigns, entry points, labels, deleted contacts: rare.
    Not a person's presence or picture (written often, from every desk's heartbeat): those
    show within desk_versions.REFRESH_SECONDS. Nor a login's last_login, which no desk shows:
    every desk would draw itself again each time someone logs in."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    desk_versions.everything_changed()


def _person_access_changed(sender, user_id, **kwargs):
    desk_versions.person_changed(user_id)


def connect():
    User = get_user_model()
    for model in (Activity, Note, Message):
        post_save.connect(_contact_part_changed, sender=model, dispatch_uid=f"desk-{model}")
        post_delete.connect(_contact_part_changed, sender=model, dispatch_uid=f"desk-d-{model}")
    post_save.connect(_contact_row_changed, sender=Contact, dispatch_uid="desk-contact")
    m2m_changed.connect(_labels_changed, sender=Label.contacts.through, dispatch_uid="desk-lab")
    shapes = (Contact, Campaign, EntryPoint, Label, User)
    for model in shapes:
        post_delete.connect(_desk_shape_changed, sender=model, dispatch_uid=f"desk-x-{model}")
        if model is not Contact:
            post_save.connect(_desk_shape_changed, sender=model, dispatch_uid=f"desk-s-{model}")
    m2m_changed.connect(
        _desk_shape_changed, sender=Campaign.agents.through, dispatch_uid="desk-members"
    )
    team.person_access_changed.connect(_person_access_changed, dispatch_uid="desk-person")
    # A role is a group (campaigns.roles).
    m2m_changed.connect(_desk_shape_changed, sender=User.groups.through, dispatch_uid="desk-role")
