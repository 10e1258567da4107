"""The Team pages: admins list, invite, add, change a person's role, campaigns and capacity, and
a campaign's members; everyone else gets 403. The Django admin stays for staff only."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client

from campaigns.models import AuditEntry, Person
from campaigns.roles import SUPERVISOR_GROUP, user_role

GOOD_PASSWORD = "a long and unusual passphrase 42"


@pytest.fixture
def supervisor(db, campaign):
    user = User.objects.create_user("sue", password=GOOD_PASSWORD, first_name="Sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    return user


def team_pages(person, campaign):
    return [
        ("get", "/team/"),
        ("post", "/team/new/invite/"),
        ("post", "/team/new/add/"),
        ("get", f"/team/{person.pk}/"),
        ("post", f"/team/{person.pk}/"),
        ("get", f"/team/{person.pk}/active/"),
        ("post", f"/team/{person.pk}/active/"),
        ("post", f"/team/{person.pk}/resend-invitation/"),
        ("post", f"/team/campaigns/{campaign.pk}/members/"),
    ]


def test_agents_and_supervisors_get_403_on_every_team_page(agent, supervisor, admin_user, campaign):
    for user in (agent, supervisor):
        client = Client()
        client.force_login(user)
        for method, path in team_pages(admin_user, campaign):
            data = {"is_active": "0", "role": "agent", "remove": admin_user.pk}
            response = getattr(client, method)(path, data if method == "post" else None)
            assert response.status_code == 403, (user.username, method, path)
    admin_user.refresh_from_db()
    assert admin_user.is_active and user_role(admin_user) == "admin"
    assert User.objects.count() == 3


def test_logged_out_visitors_are_sent_to_log_in(client, admin_user, campaign):
    for method, path in team_pages(admin_user, campaign):
        response = getattr(client, method)(path)
        assert response.status_code == 302 and response.url.startswith("/login/"), path


def test_the_team_page_lists_people_with_role_campaigns_state_presence_capacity(
    admin_client, agent, supervisor, campaign
):
    invited = User.objects.create_user("nina", email="nina@example.com")
    invited.set_unusable_password()
    invited.save()
    gone = User.objects.create_user("gus", is_active=False)
    Person.objects.create(user=agent, capacity=3)
    page = admin_client.get("/team/").content.decode()
    page = re.sub(r'<span[^>]*aria-hidden="true">[^<]*</span>', "", page)  # initials
    rows = {
        name: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr[ >].*?</tr>", page, re.S)
        for name in [re.search(r'row-title" href="/team/\d+/">([^<]+)<', row)]
        if name
        for name in [name.group(1)]
    }
    assert rows["Alex"] == "Alex alex — Agent Spring sale Active Offline 3"
    assert rows["Sue"] == "Sue sue — Supervisor Spring sale Active Offline 10"
    assert rows["nina"] == "nina nina nina@example.com Agent None Invited Offline 10"
    assert rows["gus"] == "gus gus — Agent None Deactivated Offline 10"
    assert rows["Ada Admin"].startswith("Ada Admin ada — Admin All Active")
    assert gone.pk and "Team" in page


def test_an_invitation_with_mistakes_comes_back_with_each_error(admin_client, agent):
    agent.email = "alex@example.com"
    agent.save()
    response = admin_client.post(
        "/team/new/invite/",
        {"invite-email": "ALEX@example.com", "invite-username": "al ex", "invite-role": "boss"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Someone on the team already has this e-mail address." in page
    assert "Letters, digits and @ . + - _ only." in page
    assert "Select a valid choice. boss is not one of the available choices." in page
    assert 'value="ALEX@example.com"' in page  # what was typed stays
    assert mail.outbox == [] and User.objects.count() == 2


def test_adding_with_a_weak_password_shows_why_and_never_echoes_it(admin_client):
    response = admin_client.post(
        "/team/new/add/", {"add-username": "sam", "add-password": "sam12345", "add-role": "agent"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This password is too common." in page or "too similar" in page
    assert "sam12345" not in page
    assert not User.objects.filter(username="sam").exists()


def test_an_admin_adds_an_agent_with_a_password_to_a_campaign(admin_client, campaign):
    response = admin_client.post(
        "/team/new/add/",
        {
            "add-username": "sam",
            "add-first_name": "Sam",
            "add-password": GOOD_PASSWORD,
            "add-role": "agent",
            "add-campaigns": [campaign.pk],
        },
        follow=True,
    )
    sam = User.objects.get(username="sam")
    assert response.redirect_chain[-1][0] == f"/team/{sam.pk}/"
    assert "sam added: they can log in now." in response.content.decode()
    assert sam.check_password(GOOD_PASSWORD) and list(sam.campaigns.all()) == [campaign]
    assert AuditEntry.objects.get().action == "person_added"


def test_the_person_page_changes_role_campaigns_and_capacity(
    admin_client, agent, campaign, other_campaign
):
    response = admin_client.post(
        f"/team/{agent.pk}/",
        {"role": "supervisor", "campaigns": [campaign.pk, other_campaign.pk], "capacity": "5"},
        follow=True,
    )
    assert "alex saved." in response.content.decode()
    agent = User.objects.get(pk=agent.pk)
    assert user_role(agent) == "supervisor"
    assert set(agent.campaigns.all()) == {campaign, other_campaign}
    assert agent.person.capacity == 5
    assert sorted(AuditEntry.objects.values_list("action", flat=True)) == [
        "membership_changed",
        "role_changed",
    ]


def test_the_person_page_shows_bad_input_beside_its_field(admin_client, admin_user, agent):
    response = admin_client.post(f"/team/{agent.pk}/", {"role": "agent", "capacity": "-1"})
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    response = admin_client.post(f"/team/{admin_user.pk}/", {"role": "agent", "capacity": "10"})
    assert response.status_code == 400
    assert "The last active admin cannot stop being an admin." in response.content.decode()
    assert user_role(User.objects.get(pk=admin_user.pk)) == "admin"


def test_the_campaign_page_adds_and_removes_members(admin_client, campaign, agent):
    sam = User.objects.create_user("sam", first_name="Sam")
    page = admin_client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/team/{agent.pk}/"' in page and "Remove Alex from Spring sale" in page
    assert f'<option value="{sam.pk}">Sam (sam)</option>' in page
    assert f'<option value="{agent.pk}"' not in page  # a member already

    response = admin_client.post(
        f"/team/campaigns/{campaign.pk}/members/", {"user": sam.pk}, follow=True
    )
    assert "sam joined Spring sale." in response.content.decode()
    admin_client.post(f"/team/campaigns/{campaign.pk}/members/", {"remove": agent.pk})
    assert list(campaign.agents.all()) == [sam]
    entries = AuditEntry.objects.order_by("pk")
    assert [(e.target_name, e.details["change"], e.campaign_id) for e in entries] == [
        ("Sam", "added", campaign.pk),
        ("Alex", "removed", campaign.pk),
    ]


def test_adding_nobody_to_a_campaign_says_what_to_do(admin_client, campaign):
    response = admin_client.post(f"/team/campaigns/{campaign.pk}/members/", {}, follow=True)
    assert "Choose a person to add" in response.content.decode()


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_team_link_is_for_admins_and_the_profile_link_for_everyone(admin_user, agent):
    admin_page = logged_in(admin_user).get("/campaigns/").content.decode()
    agent_page = logged_in(agent).get("/desktop/").content.decode()
    assert 'href="/team/"' in admin_page and 'href="/team/"' not in agent_page
    assert 'href="/profile/"' in admin_page and 'href="/profile/"' in agent_page


def test_the_django_admin_is_for_staff_only(admin_user, agent):
    for user in (admin_user, agent):
        response = logged_in(user).get("/admin/")
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
    staff = User.objects.create_user("root", is_staff=True, is_superuser=True)
    assert logged_in(staff).get("/admin/").status_code == 200


def test_no_page_links_a_non_staff_person_to_the_django_admin(admin_user, agent, campaign):
    admin_client, agent_client = logged_in(admin_user), logged_in(agent)
    pages = ["/campaigns/", f"/campaigns/{campaign.pk}/", f"/campaigns/{campaign.pk}/edit/"]
    pages += ["/team/", f"/team/{agent.pk}/", "/profile/", "/desktop/settings/labels/"]
    for path in pages:
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert 'href="/admin' not in response.content.decode(), path
    for path in ("/desktop/", "/profile/"):
        assert 'href="/admin' not in agent_client.get(path).content.decode()
