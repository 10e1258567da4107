"""Roles on the whole API: an agent and a supervisor of another campaign call every path of the
OpenAPI schema (new ones included) with every method, on the objects of a campaign they are not
in. Admin-only actions answer 403, another campaign's objects 404; lists leave them out; nothing
changes. A supervisor sees all of their own campaign and nothing of others."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop.models import CannedResponse, Contact, Label, Message, Note, Notification
from campaigns.models import Campaign, EntryPoint
from campaigns.roles import SUPERVISOR_GROUP
from messenger import setup as page_setup

# Answers that show nothing of the campaign: shared by design (labels are global), or about the
# caller alone (marking one's own notifications read).
SHARED = {("get", "/api/labels/{id}/"), ("post", "/api/notifications/read/")}
# Another campaign's (or person's) objects: 404, as if they did not exist; for campaigns and
# canned replies only when read (writing them is for admins: 403 before any look-up).
HIDDEN = {"contacts", "notifications"}
HIDDEN_WHEN_READ = {"campaigns", "canned-responses"}


@pytest.fixture
def theirs(campaign, agent, admin_user):
    """Campaign "Spring sale"'s objects: what the outsiders must neither see nor change."""
    entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Theirs")
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=entry_point,
        external_id="6599990000000001",
        first_name="Theodora",
        last_message_at=timezone.now(),
    )
    Message.objects.create(
        contact=contact, direction="in", text="their words", mid="m_t", sent_at=timezone.now()
    )
    note = Note.objects.create(contact=contact, author=admin_user, text="@alex look")
    return {
        "campaigns": campaign,
        "entry-points": entry_point,
        "contacts": contact,
        "canned-responses": CannedResponse.objects.create(
            shortcut="theirs", text="Hi", campaign=campaign
        ),
        "labels": Label.objects.create(name="vip", color="purple"),
        "notifications": Notification.objects.create(
            user=agent, kind="mention", contact=contact, note=note
        ),
        "users": admin_user,
    }


@pytest.fixture
def outsiders(other_campaign, other_campaign_agent):
    supervisor = User.objects.create_user("otto")
    supervisor.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    other_campaign.agents.add(supervisor)
    return {"agent": other_campaign_agent, "supervisor": supervisor}


def snapshot():
    return (
        list(Campaign.objects.values()),
        list(EntryPoint.objects.values()),
        list(Contact.objects.values("pk", "status", "assigned_to", "snoozed_until")),
        Message.objects.count(),
        Note.objects.count(),
        list(CannedResponse.objects.values()),
        list(Label.objects.values()),
        list(Notification.objects.values("pk", "read_at")),
        list(User.objects.values("pk", "is_active", "first_name")),
        sorted(Campaign.agents.through.objects.values_list("campaign", "user")),
        sorted(User.groups.through.objects.values_list("user", "group")),
    )


def schema_paths(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    return schema["paths"]


def resource(path):
    return path.split("/")[2]  # /api/<resource>/...


@pytest.mark.parametrize("who", ["agent", "supervisor"])
def test_every_api_path_refuses_another_campaigns_outsider(who, theirs, outsiders, counts):
    api = APIClient()
    api.force_authenticate(outsiders[who])
    before = snapshot()
    answers = {}
    for path, operations in schema_paths(api).items():
        obj = theirs.get(resource(path), theirs["campaigns"])
        url = path.replace("{id}", str(obj.pk))
        for method in operations:
            body = {"text": "hi", "to": outsiders[who].pk, "name": "x", "labels": ["vip"]}
            response = getattr(api, method)(url, body, format="json")
            answers[(method, path)] = response
    assert len(answers) >= 40  # the walk found the API

    unexpected = {}
    for (method, path), response in answers.items():
        status = response.status_code
        if (method, path) in SHARED:
            expected = {200}
        elif resource(path) == "me":
            expected = {200, 400}  # the caller's own record (our body is no valid PATCH of it)
        elif method == "get" and "{id}" not in path:
            expected = {200, 403}  # a list: scoped to the caller (checked below), or admins only
        elif resource(path) == "users":
            expected = {403}
        elif resource(path) in HIDDEN or (method == "get" and resource(path) in HIDDEN_WHEN_READ):
            expected = {404}
        else:
            expected = {403}  # changing campaigns, entry points, canned replies, labels: admins
        if status not in expected:
            unexpected[(method.upper(), path)] = (status, sorted(expected))
    assert unexpected == {}

    # Lists answered 200 hold nothing of the other campaign.
    listed = {
        path: r.json() for (m, path), r in answers.items() if m == "get" and r.status_code == 200
    }
    for path, body in listed.items():
        if resource(path) == "reports":
            continue  # figures, not objects: checked below
        rows = body["results"] if isinstance(body, dict) and "results" in body else body
        if isinstance(rows, list) and resource(path) != "labels":
            ids = {row.get("id") for row in rows}
            assert theirs[resource(path)].pk not in ids, path
    if who == "supervisor":  # reports count their own campaign only: not the message above
        assert answers[("get", "/api/reports/summary/")].json()["messages_in"] == 0
    assert snapshot() == before
    counts(
        f"another campaign's {who} on every API path",
        requests=len(answers),
        refused_403=sum(r.status_code == 403 for r in answers.values()),
        hidden_404=sum(r.status_code == 404 for r in answers.values()),
        changed=int(snapshot() != before),
    )


def test_a_supervisor_sees_all_of_their_campaign_and_nothing_of_others(
    campaign, other_campaign, agent, outsiders, theirs
):
    supervisor = User.objects.create_user("sue")
    supervisor.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(supervisor)
    contact = theirs["contacts"]
    contact.assigned_to, contact.status = agent, "assigned"  # held by a colleague
    contact.save()
    api = APIClient()
    api.force_authenticate(supervisor)
    assert [c["id"] for c in api.get("/api/campaigns/").json()["results"]] == [campaign.pk]
    assert api.get(f"/api/campaigns/{other_campaign.pk}/").status_code == 404
    assert [c["id"] for c in api.get("/api/contacts/").json()["results"]] == [contact.pk]
    assert api.get(f"/api/contacts/{contact.pk}/messages/").status_code == 200
    assert api.get("/api/users/").status_code == 403
