"""The desk's change tokens (agent_desktop.desk_versions): an unchanged poll is answered from the
cache alone, and every kind of change gives the list and the open conversation a new token."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from agent_desktop import desk_versions, labels, notes, services, workflow
from agent_desktop.models import Activity, Label, Message
from campaigns.roles import ADMIN_GROUP
from config.settings import desk_cache

ROOT = Path(__file__).resolve().parents[2]


def _tokens(client, contact):
    # Opening the conversation reads it (a change, after its token was taken): open it first.
    client.get(reverse("agent_desktop:conversation", args=[contact.pk]))
    opened = client.get(reverse("agent_desktop:conversation", args=[contact.pk]))
    listed = client.get(reverse("agent_desktop:list"))
    return listed.context["list_fingerprint"], opened.context["conversation_fingerprint"]


def _polls(client, contact, tokens):
    return (
        client.get(reverse("agent_desktop:list"), {"fp": tokens[0]}).status_code,
        client.get(reverse("agent_desktop:conversation", args=[contact.pk]), {"fp": tokens[1]}),
    )


def test_an_unchanged_poll_touches_no_database(
    agent_client, make_contact, django_assert_num_queries
):
    contact = make_contact()
    list_token, conversation_token = _tokens(agent_client, contact)
    for url, token in (
        (reverse("agent_desktop:list"), list_token),
        (reverse("agent_desktop:conversation", args=[contact.pk]), conversation_token),
    ):
        # The session from the cache (cached_db), the person and the tokens too.
        with django_assert_num_queries(0):
            response = agent_client.get(url, {"fp": token})
        assert response.status_code == 204 and response.content == b""


def _claim(contact, agent, **_):
    return lambda: workflow.contact_claim(contact=contact, agent=agent)


def _close(contact, agent, **_):
    workflow.contact_claim(contact=contact, agent=agent)
    contact.refresh_from_db()
    return lambda: workflow.contact_close(contact=contact, agent=agent)


def _snooze(contact, agent, **_):
    workflow.contact_claim(contact=contact, agent=agent)
    contact.refresh_from_db()
    until = timezone.now() + timedelta(hours=1)
    return lambda: workflow.contact_snooze(contact=contact, agent=agent, until=until)


def _inbound(contact, **_):
    incoming = services.IncomingMessage(sent_at=timezone.now(), text="again", mid="m_again")
    return lambda: services.record_inbound(contact=contact, incoming=incoming)


def _inbound_batch(contact, **_):  # the worker's path: bulk_create and update_rows
    incoming = services.IncomingMessage(sent_at=timezone.now(), text="batch", mid="m_batch")
    return lambda: services.record_inbound_many([(contact, incoming)])


def _delivered(contact, **_):
    Message.objects.create(
        contact=contact,
        direction="out",
        source="agent",
        status="sent",
        mid="m_out",
        sent_at=timezone.now(),
    )
    return lambda: services.mark_delivered(contact=contact, mids=["m_out"])


def _read(contact, agent, **_):
    return lambda: services.contact_mark_read(contact=contact, agent=agent)


def _reply(contact, agent, **_):
    return lambda: services.reply_send(contact=contact, agent=agent, text="Hello")


def _label(contact, agent, **_):
    Label.objects.create(name="vip")
    return lambda: labels.contact_set_labels(contact=contact, names=["vip"], actor=agent)


def _note(contact, agent, **_):
    return lambda: notes.note_create(contact=contact, author=agent, text="call back")


def _activity(contact, agent, **_):
    return lambda: Activity.objects.create(
        contact=contact, kind=Activity.Kind.LABELLED, actor=agent
    )


def _channel_details(contact, **_):
    return lambda: services.contact_channel_details_update(contact=contact, locale="fr_FR")


def _membership(contact, agent, other_campaign, **_):
    return lambda: other_campaign.agents.add(agent)


def _role(contact, agent, **_):
    admins, _ = Group.objects.get_or_create(name=ADMIN_GROUP)
    return lambda: agent.groups.add(admins)


def _name(contact, agent, **_):
    agent.first_name = "Alexandra"
    return lambda: agent.save()


CHANGES = [
    _claim, _close, _snooze, _inbound, _inbound_batch, _delivered, _read, _reply, _label, _note,
    _activity, _channel_details, _membership, _role, _name,
]  # fmt: skip


@pytest.mark.parametrize("change", CHANGES, ids=lambda change: change.__name__.strip("_"))
def test_every_kind_of_change_renews_the_list_and_the_conversation(
    change, agent_client, agent, make_contact, other_campaign
):
    contact = make_contact()
    apply = change(contact=contact, agent=agent, other_campaign=other_campaign)
    before = _tokens(agent_client, contact)
    assert _polls(agent_client, contact, before)[0] == 204
    apply()
    listed, opened = _polls(agent_client, contact, before)
    assert listed == 200
    if change not in (_membership, _role):  # who sees what: lists, not this conversation
        assert opened.status_code == 200


def test_a_new_contact_renews_the_list(agent_client, make_contact):
    contact = make_contact()
    before = _tokens(agent_client, contact)
    make_contact("6500000000000002", first_name="Newcomer")
    response = agent_client.get(reverse("agent_desktop:list"), {"fp": before[0]})
    assert response.status_code == 200 and "Newcomer" in response.content.decode()


def test_a_change_in_another_campaign_leaves_the_desk_unchanged(
    agent_client, make_contact, other_entry_point
):
    contact = make_contact()
    before = _tokens(agent_client, contact)
    make_contact("6500000000000009", entry_point_=other_entry_point)
    listed, opened = _polls(agent_client, contact, before)
    assert (listed, opened.status_code) == (204, 204)


def test_another_process_sees_the_tokens_this_one_renews():
    """The worker renews, the web process reads: the desk cache is shared between processes
    (Redis when the broker is Redis, else files under VAR_DIR)."""
    key = desk_versions._campaign_key(987654)
    (before,), _ = desk_versions._tokens([key])
    renew = (
        "import django; django.setup(); from agent_desktop import desk_versions; "
        f"desk_versions._renew([{key!r}]); print(desk_versions._tokens([{key!r}])[0][0])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run(
        [sys.executable, "-c", renew], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    (after,), _ = desk_versions._tokens([key])
    assert after != before and after == out.stdout.strip().splitlines()[-1]


def test_the_desk_cache_is_shared_redis_or_files_never_memory_of_one_process(tmp_path):
    redis = "config.redis_cache.ReusedClientRedisCache"
    files = "django.core.cache.backends.filebased.FileBasedCache"
    assert desk_cache("", "redis://127.0.0.1:6379/3", tmp_path)["BACKEND"] == redis
    assert desk_cache("redis://h:6379/1", "filesystem://", tmp_path)["LOCATION"] == (
        "redis://h:6379/1"
    )
    assert desk_cache("locmemcache://", "filesystem://", tmp_path)["BACKEND"] == files
    assert "locmem" not in settings.CACHES["desk"]["BACKEND"]
