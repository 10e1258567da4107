"""`/api/users/`: the team for admins. Creating with a password adds, without one invites by
e-mail; PATCH changes role, campaigns, capacity and `is_active`; agents and supervisors get
403; bad input answers 400 naming the field."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns.models import AuditEntry
from campaigns.roles import SUPERVISOR_GROUP, user_role

GOOD_PASSWORD = "a long and unusual passphrase 42"


def api_as(user):
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def admin_api(admin_user):
    return api_as(admin_user)


@pytest.fixture
def supervisor(db, campaign):
    user = User.objects.create_user("sue", password="x", first_name="Sue")
    user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(user)
    return user


def test_an_admin_adds_an_agent_with_a_password_who_can_then_log_in(admin_api, campaign):
    response = admin_api.post(
        "/api/users/",
        {
            "username": "maria",
            "email": "maria@example.com",
            "first_name": "Maria",
            "last_name": "Lopez",
            "role": "agent",
            "campaigns": [campaign.pk],
            "password": GOOD_PASSWORD,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert "password" not in body
    assert {k: body[k] for k in ("username", "role", "campaigns", "invitation_pending")} == {
        "username": "maria",
        "role": "agent",
        "campaigns": [campaign.pk],
        "invitation_pending": False,
    }
    assert (body["presence"], body["capacity"], body["is_active"]) == ("offline", 10, True)
    assert User.objects.get(username="maria").check_password(GOOD_PASSWORD)
    assert mail.outbox == []
    entry = AuditEntry.objects.get(action="person_added")
    assert entry.details == {"role": "agent", "campaigns": ["Spring sale"]}
    assert GOOD_PASSWORD not in str(entry.details)


def test_without_a_password_the_person_is_invited_by_e_mail(admin_api, campaign, settings):
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    response = admin_api.post(
        "/api/users/",
        {
            "username": "lee",
            "email": "lee@example.com",
            "role": "supervisor",
            "campaigns": [campaign.pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["invitation_pending"] is True
    assert response.json()["state"] == "invited"
    [message] = mail.outbox
    assert message.to == ["lee@example.com"]
    link = re.search(r"https://support\.example\.com/invite/\S+/\S+/", message.body)
    assert link, message.body
    # The link is a password in waiting: nowhere in the answer, nor in the audit log.
    token_part = link.group(0).rstrip("/").rsplit("/", 1)[1]
    assert token_part not in response.content.decode()
    assert token_part not in str(list(AuditEntry.objects.values()))
    lee = User.objects.get(username="lee")
    assert user_role(lee) == "supervisor" and not lee.has_usable_password()


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"username": "ada", "email": "new@example.com"}, "username"),
        ({"username": "ADA", "email": "new@example.com"}, "username"),
        ({"username": "new", "email": "taken@example.com"}, "email"),
        ({"username": "new", "email": "new@example.com", "campaigns": [987654]}, "campaigns"),
        ({"username": "new", "email": "new@example.com", "role": "owner"}, "role"),
        ({"username": "new"}, "email"),
        ({"username": "new", "password": "123"}, "password"),
        ({"username": "has space", "email": "new@example.com"}, "username"),
        ({"email": "new@example.com"}, "username"),
    ],
)
def test_bad_input_answers_400_naming_the_field(admin_api, admin_user, payload, field):
    User.objects.create_user("someone", email="Taken@example.com")
    response = admin_api.post("/api/users/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not User.objects.filter(username__iexact="new").exists()


def test_agents_and_supervisors_get_403_on_every_users_endpoint(agent, supervisor, admin_user):
    for user in (agent, supervisor):
        api = api_as(user)
        assert api.get("/api/users/").status_code == 403
        assert api.get(f"/api/users/{admin_user.pk}/").status_code == 403
        assert (
            api.post("/api/users/", {"username": "x", "email": "x@example.com"}).status_code == 403
        )
        patch = api.patch(f"/api/users/{user.pk}/", {"role": "admin"}, format="json")
        assert patch.status_code == 403
        assert user_role(User.objects.get(pk=user.pk)) != "admin"
    assert not User.objects.filter(username="x").exists()


def test_the_list_shows_everyone_with_role_presence_capacity_and_state(
    admin_api, admin_user, agent, supervisor, campaign
):
    listed = {u["username"]: u for u in admin_api.get("/api/users/").json()["results"]}
    assert {name: u["role"] for name, u in listed.items()} == {
        "ada": "admin",
        "alex": "agent",
        "sue": "supervisor",
    }
    assert listed["alex"]["campaigns"] == [campaign.pk]
    assert {u["presence"] for u in listed.values()} == {"offline"}
    assert {u["state"] for u in listed.values()} == {"active"}


def test_an_admin_patches_role_campaigns_and_capacity(admin_api, agent, campaign, other_campaign):
    response = admin_api.patch(
        f"/api/users/{agent.pk}/",
        {"role": "supervisor", "campaigns": [other_campaign.pk], "capacity": 4},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["role"], response.json()["campaigns"], response.json()["capacity"]) == (
        "supervisor",
        [other_campaign.pk],
        4,
    )
    agent = User.objects.get(pk=agent.pk)
    assert user_role(agent) == "supervisor"
    assert list(agent.campaigns.all()) == [other_campaign]
    changes = sorted(
        (e.action, e.campaign_id, e.details.get("change") or e.details.get("to"))
        for e in AuditEntry.objects.all()
    )
    assert changes == sorted(
        [
            ("role_changed", None, "supervisor"),
            ("membership_changed", other_campaign.pk, "added"),
            ("membership_changed", campaign.pk, "removed"),
        ]
    )
    assert AuditEntry.objects.get(action="role_changed").details == {
        "from": "agent",
        "to": "supervisor",
    }


def test_a_username_is_fixed_and_a_password_is_not_patched(admin_api, agent):
    response = admin_api.patch(
        f"/api/users/{agent.pk}/", {"username": "renamed", "password": GOOD_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()) == {"username"}
    response = admin_api.patch(
        f"/api/users/{agent.pk}/", {"password": GOOD_PASSWORD}, format="json"
    )
    assert response.status_code == 400 and "password" in response.json()
    agent.refresh_from_db()
    assert agent.username == "alex" and not agent.check_password(GOOD_PASSWORD)


def test_the_last_admin_can_neither_be_demoted_nor_deactivate_themself(admin_api, admin_user):
    response = admin_api.patch(f"/api/users/{admin_user.pk}/", {"role": "agent"}, format="json")
    assert response.status_code == 400
    assert response.json() == {"role": ["The last active admin cannot stop being an admin."]}
    response = admin_api.patch(f"/api/users/{admin_user.pk}/", {"is_active": False}, format="json")
    assert response.status_code == 400
    assert response.json() == {"is_active": ["You cannot deactivate yourself: ask another admin."]}
    assert user_role(User.objects.get(pk=admin_user.pk)) == "admin"
    assert User.objects.get(pk=admin_user.pk).is_active


def test_a_refused_patch_changes_nothing_else_it_carried(admin_api, admin_user, campaign):
    response = admin_api.patch(
        f"/api/users/{admin_user.pk}/",
        {"first_name": "Changed", "campaigns": [campaign.pk], "role": "agent"},
        format="json",
    )
    assert response.status_code == 400
    admin_user.refresh_from_db()
    assert admin_user.first_name == "Ada" and not admin_user.campaigns.exists()


def test_django_staff_keep_their_admin_role_until_the_django_admin_changes_it(admin_api):
    staff = User.objects.create_user("root", is_staff=True)
    response = admin_api.patch(f"/api/users/{staff.pk}/", {"role": "agent"}, format="json")
    assert response.status_code == 400
    assert "Django staff" in response.json()["role"][0]


def test_patching_is_active_back_to_true_reactivates(admin_api, agent):
    assert (
        admin_api.patch(f"/api/users/{agent.pk}/", {"is_active": False}, format="json").json()[
            "state"
        ]
        == "deactivated"
    )
    response = admin_api.patch(f"/api/users/{agent.pk}/", {"is_active": True}, format="json")
    assert response.json()["state"] == "active"
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == [
        "person_deactivated",
        "person_reactivated",
    ]


def test_an_admin_and_the_person_share_one_capacity_limit(admin_api, agent):
    """The admin's /api/users/ and the person's own /api/me/ take the same range (0..200)."""
    top = admin_api.patch(f"/api/users/{agent.pk}/", {"capacity": 200}, format="json")
    assert (top.status_code, top.json()["capacity"]) == (200, 200)
    too_many = admin_api.patch(f"/api/users/{agent.pk}/", {"capacity": 201}, format="json")
    assert too_many.status_code == 400 and "capacity" in too_many.json()
