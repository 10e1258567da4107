"""The team's tools in the desktop pages: notes from the composer, labels in Customer Info,
canned replies filled in for the contact, and the admins' pages for canned replies and labels."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from agent_desktop.canned import fill_placeholders
from agent_desktop.models import CannedResponse, Label, Message, Note, Notification
from tests.conftest import PASSWORD


@pytest.fixture
def colleague(campaign):
    user = User.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    campaign.agents.add(user)
    return user


def contact_url(contact):
    return reverse("agent_desktop:contact", args=[contact.pk])


def test_a_note_from_the_composer_is_stored_shown_apart_and_never_queued(
    agent_client, make_contact, colleague, django_capture_on_commit_callbacks
):
    contact = make_contact(first_name="Maria")
    with django_capture_on_commit_callbacks() as callbacks:
        response = agent_client.post(
            reverse("agent_desktop:note", args=[contact.pk]),
            {"text": "Call back tomorrow @sam <b>bold</b>", "list_params": "filter=mine"},
        )
    assert response.status_code == 302 and response["Location"].endswith("?filter=mine")
    assert callbacks == [] and not Message.objects.filter(direction="out").exists()
    note = Note.objects.get()
    assert list(note.mentions.all()) == [colleague]
    assert Notification.objects.get().user == colleague

    html = agent_client.get(contact_url(contact)).content.decode()
    assert 'data-testid="note"' in html and "Private note" in html
    assert "Call back tomorrow @sam &lt;b&gt;bold&lt;/b&gt;" in html


def test_a_blank_note_is_refused(agent_client, make_contact):
    contact = make_contact()
    agent_client.post(reverse("agent_desktop:note", args=[contact.pk]), {"text": "   "})
    assert not Note.objects.exists()


def test_agents_set_labels_in_customer_info_and_filter_the_list(agent_client, make_contact):
    Label.objects.create(name="vip", color="purple")
    Label.objects.create(name="refund", color="red")
    maria = make_contact("6500000000000001", first_name="Maria")
    make_contact("6500000000000002", first_name="Lena")
    agent_client.post(reverse("agent_desktop:labels_set", args=[maria.pk]), {"labels": ["vip"]})
    assert list(maria.labels.values_list("name", flat=True)) == ["vip"]

    html = agent_client.get(reverse("agent_desktop:home"), {"label": "vip"}).content.decode()
    rows = re.findall(r'data-testid="contact-row".*?</li>', html, re.S)
    assert len(rows) == 1 and "Maria" in rows[0] and 'class="label label-purple">vip' in rows[0]

    page = agent_client.get(contact_url(maria)).content.decode()
    assert re.search(r'value="vip" checked', page) and not re.search(
        r'value="refund" checked', page
    )


def test_the_composer_carries_the_canned_replies_filled_for_this_contact(
    agent_client, make_contact, campaign, other_campaign
):
    CannedResponse.objects.create(shortcut="hi", text="Hi {{first_name}}, {{agent_name}} here")
    CannedResponse.objects.create(shortcut="ship", text="Ships today", campaign=campaign)
    CannedResponse.objects.create(shortcut="theirs", text="x", campaign=other_campaign)
    contact = make_contact(first_name="Maria")
    html = agent_client.get(contact_url(contact)).content.decode()
    data = re.search(r'id="canned-replies-data" type="application/json">(.*?)</script>', html)
    assert json.loads(data.group(1)) == [
        {"shortcut": "hi", "text": "Hi Maria, Alex here"},
        {"shortcut": "ship", "text": "Ships today"},
    ]


def test_placeholders_we_lack_are_empty_and_unknown_ones_stay(make_contact, agent):
    contact = make_contact(first_name="")
    text = "Hi {{ first_name }}{{last_name}}! {{agent_first_name}} / {{ordre}}"
    assert fill_placeholders(text, contact=contact, agent=agent) == "Hi ! Alex / {{ordre}}"


def test_admins_add_edit_and_delete_canned_replies_on_their_page(admin_client, campaign):
    url = reverse("team_tools:canned_responses")
    assert admin_client.get(url).status_code == 200
    response = admin_client.post(
        url, {"shortcut": "thanks", "text": "Thank you {{first_name}}!", "campaign": campaign.pk}
    )
    assert response.status_code == 302
    saved = CannedResponse.objects.get()
    assert (saved.shortcut, saved.campaign) == ("thanks", campaign)
    duplicate = admin_client.post(url, {"shortcut": "thanks", "text": "x", "campaign": campaign.pk})
    assert duplicate.status_code == 400 and "already used" in duplicate.content.decode()

    edit = reverse("team_tools:canned_response", args=[saved.pk])
    admin_client.post(edit, {"shortcut": "thanks", "text": "Merci!", "campaign": ""})
    saved.refresh_from_db()
    assert (saved.text, saved.campaign) == ("Merci!", None)
    admin_client.post(reverse("team_tools:canned_response_delete", args=[saved.pk]))
    assert not CannedResponse.objects.exists()


def test_admins_add_and_delete_labels_on_their_page(admin_client):
    url = reverse("team_tools:labels")
    assert admin_client.post(url, {"name": "vip", "color": "teal"}).status_code == 302
    label = Label.objects.get()
    assert label.color == "teal"
    assert 'class="label label-teal">vip' in admin_client.get(url).content.decode()
    admin_client.post(reverse("team_tools:label_delete", args=[label.pk]))
    assert not Label.objects.exists()


def test_agents_get_403_on_the_admins_pages(agent_client):
    reply = CannedResponse.objects.create(shortcut="hi", text="Hi")
    label = Label.objects.create(name="vip")
    for url in [
        reverse("team_tools:canned_responses"),
        reverse("team_tools:canned_response", args=[reply.pk]),
        reverse("team_tools:labels"),
    ]:
        assert agent_client.get(url).status_code == 403, url
    agent_client.post(reverse("team_tools:canned_responses"), {"shortcut": "x", "text": "y"})
    agent_client.post(reverse("team_tools:canned_response_delete", args=[reply.pk]))
    agent_client.post(reverse("team_tools:label_delete", args=[label.pk]))
    agent_client.post(reverse("team_tools:labels"), {"name": "new", "color": "red"})
    assert list(CannedResponse.objects.values_list("shortcut", flat=True)) == ["hi"]
    assert list(Label.objects.values_list("name", flat=True)) == ["vip"]


def test_another_campaigns_contact_takes_no_note_or_label(
    agent_client, make_contact, other_entry_point
):
    theirs = make_contact("6500000000000009", entry_point_=other_entry_point)
    Label.objects.create(name="vip")
    note = agent_client.post(reverse("agent_desktop:note", args=[theirs.pk]), {"text": "x"})
    labels = agent_client.post(
        reverse("agent_desktop:labels_set", args=[theirs.pk]), {"labels": ["vip"]}
    )
    assert (note.status_code, labels.status_code) == (404, 404)
    assert not Note.objects.exists() and not theirs.labels.exists()


def test_the_composer_carries_the_colleagues_a_note_may_mention(
    agent_client, make_contact, colleague, other_campaign_agent
):
    html = agent_client.get(contact_url(make_contact())).content.decode()
    data = re.search(r'id="mention-members-data" type="application/json">(.*?)</script>', html)
    # Members of the contact's campaign other than me; never another campaign's agents.
    assert json.loads(data.group(1)) == [{"username": "sam", "name": "Sam"}]
