"""agent_desktop 0012 moves Messenger's contact fields (gender, answered_elsewhere) into
`Contact.channel_details`, on a database holding the old layout, and back on reversal."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

OLD = [("agent_desktop", "0011_kinds_from_the_registry")]
NEW = [("agent_desktop", "0012_contact_channel_details")]

pytestmark = pytest.mark.django_db(transaction=True)


def _migrate(targets):
    """Migrate agent_desktop to `targets`; the models of that state, the other apps' latest."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "agent_desktop"]
    return executor.loader.project_state([*others, *targets]).apps


@pytest.fixture
def old_layout():
    """The database at agent_desktop 0011; brought back to the latest migrations afterwards."""
    apps = _migrate(OLD)
    yield apps
    executor = MigrationExecutor(connection)
    _migrate(executor.loader.graph.leaf_nodes())


def _contacts(apps):
    Contact = apps.get_model("agent_desktop", "Contact")
    return {c.external_id: c for c in Contact.objects.all()}


def test_messenger_fields_move_into_channel_details_and_back(old_layout):
    Campaign = old_layout.get_model("campaigns", "Campaign")
    EntryPoint = old_layout.get_model("campaigns", "EntryPoint")
    Contact = old_layout.get_model("agent_desktop", "Contact")
    Message = old_layout.get_model("agent_desktop", "Message")
    campaign = Campaign.objects.create(name="Spring sale")
    entry_point = EntryPoint.objects.create(campaign=campaign, kind="facebook_page", name="Acme")
    rows = {
        "7001": {"gender": "female", "answered_elsewhere": True},
        "7002": {"gender": "", "answered_elsewhere": False},
        "7003": {"gender": "male", "answered_elsewhere": False},
        "7004": {"gender": "", "answered_elsewhere": True},
    }
    for psid, fields in rows.items():
        contact = Contact.objects.create(
            entry_point=entry_point,
            channel="messenger",
            external_id=psid,
            first_name=f"Name {psid}",
            locale="de_DE",
            timezone=1,
            **fields,
        )
        Message.objects.create(
            contact=contact, direction="in", text="hi", mid=f"m_{psid}", sent_at=timezone.now()
        )

    new = _contacts(_migrate(NEW))
    assert {psid: c.channel_details for psid, c in new.items()} == {
        "7001": {"gender": "female", "answered_elsewhere": True},
        "7002": {},
        "7003": {"gender": "male"},
        "7004": {"answered_elsewhere": True},
    }
    # The rest of each row, and its messages, as they were.
    assert {(c.first_name, c.locale, c.timezone) for c in new.values()} == {
        (f"Name {psid}", "de_DE", 1.0) for psid in rows
    }
    assert not hasattr(new["7001"], "gender")
    Message = _migrate(NEW).get_model("agent_desktop", "Message")
    assert sorted(Message.objects.values_list("mid", flat=True)) == [f"m_{p}" for p in rows]

    old = _contacts(_migrate(OLD))
    assert {
        psid: {"gender": c.gender, "answered_elsewhere": c.answered_elsewhere}
        for psid, c in old.items()
    } == rows


def test_a_contact_made_in_the_new_layout_survives_a_round_trip(old_layout):
    Campaign = old_layout.get_model("campaigns", "Campaign")
    EntryPoint = old_layout.get_model("campaigns", "EntryPoint")
    campaign = Campaign.objects.create(name="Web")
    entry_point = EntryPoint.objects.create(campaign=campaign, kind="facebook_page", name="Acme")
    Contact = _migrate(NEW).get_model("agent_desktop", "Contact")
    details = {"gender": "female", "answered_elsewhere": True}
    Contact.objects.create(
        entry_point_id=entry_point.pk,
        channel="messenger",
        external_id="7100",
        channel_details=details,
    )

    (contact,) = _contacts(_migrate(OLD)).values()
    assert (contact.gender, contact.answered_elsewhere) == ("female", True)
    (contact,) = _contacts(_migrate(NEW)).values()
    assert contact.channel_details == details
