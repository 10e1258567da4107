"""The team's tools over the API: private notes and mentions, notifications, canned replies,
labels. Every endpoint, with who may and may not use it."""

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agent_desktop.models import CannedResponse, Label, Message, Notification
from tests.conftest import PASSWORD


def api_for(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(agent):
    return api_for(agent)


@pytest.fixture
def admin_api(admin_user):
    return api_for(admin_user)


@pytest.fixture
def colleague(campaign):
    user = User.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    campaign.agents.add(user)
    return user


# --- Notes -----------------------------------------------------------------------------------
def test_a_note_is_201_with_the_contract_shape_and_never_reaches_facebook(
    api, make_contact, connected_page, fake_graph, agent, django_capture_on_commit_callbacks
):
    contact = make_contact()
    calls_before = len(fake_graph.calls)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api.post(
            f"/api/contacts/{contact.pk}/notes/", {"text": "VIP, be kind"}, format="json"
        )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "contact", "author", "text", "mentions", "created_at"}
    assert (body["contact"], body["author"], body["text"]) == (contact.pk, agent.pk, "VIP, be kind")
    assert callbacks == []  # nothing queued for the channel
    assert len(fake_graph.calls) == calls_before
    assert not Message.objects.filter(direction="out").exists()
    listed = api.get(f"/api/contacts/{contact.pk}/notes/").json()
    assert [n["text"] for n in listed] == ["VIP, be kind"]


def test_a_mention_of_a_campaign_member_is_stored_and_notifies_them(
    api, make_contact, colleague, other_campaign_agent, agent
):
    contact = make_contact()
    text = "@sam can you check? (@olga is not in this campaign, @nobody does not exist) @alex"
    body = api.post(f"/api/contacts/{contact.pk}/notes/", {"text": text}, format="json").json()
    assert sorted(body["mentions"]) == sorted([colleague.pk, agent.pk])
    # The author is not notified of their own mention; the outsider is not notified at all.
    (notification,) = Notification.objects.all()
    assert (notification.user, notification.kind, notification.contact) == (
        colleague,
        "mention",
        contact,
    )

    sams = api_for(colleague)
    (unread,) = sams.get("/api/notifications/?unread=1").json()["results"]
    assert unread["kind"] == "mention" and unread["contact"] == contact.pk
    assert unread["note"] == body["id"] and unread["note_text"] == text
    assert unread["author"] == agent.pk and unread["author_name"] == "Alex"
    assert unread["contact_name"] == contact.name and unread["read_at"] is None
    assert api.get("/api/notifications/").json()["results"] == []  # nobody else's

    assert sams.post("/api/notifications/read/", {"ids": [unread["id"]]}, format="json").json() == {
        "marked": 1
    }
    assert sams.get("/api/notifications/?unread=1").json()["results"] == []
    assert sams.get("/api/notifications/").json()["results"][0]["read_at"] is not None


def test_marking_all_read_marks_only_mine(api, make_contact, colleague, agent):
    contact = make_contact()
    api_for(colleague).post(f"/api/contacts/{contact.pk}/notes/", {"text": "@alex"}, format="json")
    api.post(f"/api/contacts/{contact.pk}/notes/", {"text": "@sam hi"}, format="json")
    assert api.post("/api/notifications/read/", {}, format="json").json() == {"marked": 1}
    assert Notification.objects.get(user=colleague).read_at is None


def test_an_empty_note_is_400_and_notes_need_a_login(api, make_contact):
    contact = make_contact()
    assert api.post(f"/api/contacts/{contact.pk}/notes/", {"text": " "}).status_code == 400
    assert APIClient().get(f"/api/contacts/{contact.pk}/notes/").status_code in (401, 403)
    assert APIClient().get("/api/notifications/").status_code in (401, 403)


def test_another_campaigns_contact_has_no_notes_or_labels_for_me(
    api, make_contact, other_entry_point
):
    theirs = make_contact("6500000000000009", entry_point_=other_entry_point)
    Label.objects.create(name="vip")
    base = f"/api/contacts/{theirs.pk}"
    assert api.get(f"{base}/notes/").status_code == 404
    assert api.post(f"{base}/notes/", {"text": "x"}, format="json").status_code == 404
    assert api.put(f"{base}/labels/", {"labels": ["vip"]}, format="json").status_code == 404
    assert not theirs.labels.exists()


# --- Canned replies --------------------------------------------------------------------------
def test_admins_manage_canned_replies_global_and_per_campaign(admin_api, campaign):
    created = admin_api.post(
        "/api/canned-responses/",
        {"shortcut": "hello", "text": "Hi {{first_name}}!", "campaign": None},
        format="json",
    )
    assert created.status_code == 201
    body = created.json()
    assert {k: body[k] for k in ("shortcut", "text", "campaign")} == {
        "shortcut": "hello",
        "text": "Hi {{first_name}}!",
        "campaign": None,
    }
    ours = admin_api.post(
        "/api/canned-responses/",
        {"shortcut": "hello", "text": "Spring hi", "campaign": campaign.pk},
        format="json",
    )
    assert ours.status_code == 201  # the same shortcut in a campaign is its own
    again = admin_api.post(
        "/api/canned-responses/", {"shortcut": "hello", "text": "dup"}, format="json"
    )
    assert again.status_code == 400 and "shortcut" in again.json()

    url = f"/api/canned-responses/{body['id']}/"
    assert admin_api.get(url).json()["text"] == "Hi {{first_name}}!"
    assert admin_api.patch(url, {"text": "Hello!"}, format="json").json()["text"] == "Hello!"
    assert admin_api.delete(url).status_code == 204
    assert list(CannedResponse.objects.values_list("text", flat=True)) == ["Spring hi"]


def test_agents_read_global_and_their_campaigns_canned_replies_but_never_write(
    api, campaign, other_campaign
):
    mine = CannedResponse.objects.create(shortcut="ship", text="Ships today", campaign=campaign)
    CannedResponse.objects.create(shortcut="theirs", text="x", campaign=other_campaign)
    everyone = CannedResponse.objects.create(shortcut="bye", text="Bye!")
    listed = api.get("/api/canned-responses/").json()["results"]
    assert sorted(r["shortcut"] for r in listed) == ["bye", "ship"]

    assert api.post("/api/canned-responses/", {"shortcut": "x", "text": "y"}).status_code == 403
    for target in (mine, everyone):
        url = f"/api/canned-responses/{target.pk}/"
        assert api.patch(url, {"text": "z"}, format="json").status_code == 403
        assert api.delete(url).status_code == 403
    assert CannedResponse.objects.count() == 3


def test_a_canned_reply_needs_a_shortcut_of_letters_digits_and_dashes(admin_api):
    bad = admin_api.post("/api/canned-responses/", {"shortcut": "a b/c", "text": "t"})
    assert bad.status_code == 400 and "shortcut" in bad.json()


# --- Labels ----------------------------------------------------------------------------------
def test_admins_write_labels_agents_read_them(admin_api, api):
    created = admin_api.post("/api/labels/", {"name": "vip", "color": "purple"}, format="json")
    assert created.status_code == 201
    assert {k: created.json()[k] for k in ("name", "color")} == {"name": "vip", "color": "purple"}
    assert admin_api.post("/api/labels/", {"name": "x", "color": "#ff0000"}).status_code == 400
    assert [label["name"] for label in api.get("/api/labels/").json()["results"]] == ["vip"]
    assert api.post("/api/labels/", {"name": "mine", "color": "red"}).status_code == 403
    url = f"/api/labels/{created.json()['id']}/"
    assert api.patch(url, {"color": "red"}, format="json").status_code == 403
    assert api.delete(url).status_code == 403
    assert admin_api.patch(url, {"color": "red"}, format="json").json()["color"] == "red"


def test_agents_label_their_contacts_and_filter_by_label(api, make_contact):
    Label.objects.create(name="vip", color="purple")
    Label.objects.create(name="refund", color="red")
    first = make_contact("6500000000000001")
    make_contact("6500000000000002")

    response = api.put(
        f"/api/contacts/{first.pk}/labels/", {"labels": ["vip", "refund"]}, format="json"
    )
    assert response.status_code == 200 and response.json() == {"labels": ["refund", "vip"]}
    row = api.get(f"/api/contacts/{first.pk}/").json()
    assert sorted(row["labels"]) == ["refund", "vip"]

    filtered = api.get("/api/contacts/?label=vip").json()["results"]
    assert [c["id"] for c in filtered] == [first.pk]
    assert api.get("/api/contacts/?label=nope").json()["results"] == []
    # No label's name holds a NUL (PostgreSQL would refuse the query): it matches what is left.
    with_nul = api.get("/api/contacts/?label=v%00ip&q=%00")
    assert with_nul.status_code == 200
    assert [c["id"] for c in with_nul.json()["results"]] == [first.pk]

    unknown = api.put(f"/api/contacts/{first.pk}/labels/", {"labels": ["nope"]}, format="json")
    assert unknown.status_code == 400
    assert sorted(first.labels.values_list("name", flat=True)) == ["refund", "vip"]
    cleared = api.put(f"/api/contacts/{first.pk}/labels/", {"labels": []}, format="json")
    assert cleared.json() == {"labels": []} and not first.labels.exists()

    # Each change is in the timeline; the refused one is not.
    activity = api.get(f"/api/contacts/{first.pk}/activity/").json()
    assert [(a["kind"], a["target"]) for a in activity] == [
        ("labelled", "+refund +vip"),
        ("labelled", "-refund -vip"),
    ]


def test_the_schema_lists_the_team_tools(api):
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    for path in [
        "/api/contacts/{id}/notes/",
        "/api/contacts/{id}/labels/",
        "/api/canned-responses/",
        "/api/canned-responses/{id}/",
        "/api/labels/",
        "/api/notifications/",
        "/api/notifications/read/",
    ]:
        assert path in paths, path
