"""Deactivating a person ends their sessions and API token at once; the team always keeps an
active admin, also when two admins deactivate each other at the same moment."""

import threading

import pytest
from django.contrib.auth.models import Group, User
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from campaigns import team
from campaigns.models import AuditEntry
from campaigns.roles import ADMIN_GROUP


def logged_in_browser(user):
    browser = Client()
    browser.force_login(user)
    assert browser.get("/desktop/").status_code == 200
    return browser


def token_client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    assert client.get("/api/contacts/").status_code == 200
    return client


@pytest.mark.parametrize("how", ["page", "api"])
def test_deactivation_logs_out_a_live_session_and_voids_the_token_at_once(
    how, admin_client, admin_user, agent
):
    colleague = User.objects.create_user("colleague")
    colleague_browser = logged_in_browser(colleague)
    browser = logged_in_browser(agent)
    second_browser = logged_in_browser(agent)
    api = token_client(agent)

    if how == "page":
        response = admin_client.post(f"/team/{agent.pk}/active/", {"is_active": "0"}, follow=True)
        assert "is deactivated and logged out everywhere" in response.content.decode()
    else:
        admin_api = APIClient()
        admin_api.force_login(admin_user)
        response = admin_api.patch(f"/api/users/{agent.pk}/", {"is_active": False}, format="json")
        assert response.status_code == 200 and response.json()["is_active"] is False

    for each in (browser, second_browser):
        answer = each.get("/desktop/")
        assert answer.status_code == 302 and answer.url.startswith("/login/")
    assert api.get("/api/contacts/").status_code == 401
    assert not Token.objects.filter(user=agent).exists()
    owners = {s.get_decoded().get("_auth_user_id") for s in Session.objects.all()}
    assert str(agent.pk) not in owners
    assert colleague_browser.get("/desktop/").status_code == 200  # others stay logged in
    assert AuditEntry.objects.filter(action="person_deactivated", target_id=agent.pk).count() == 1


def test_the_deactivate_button_asks_first_and_says_what_happens(admin_client, agent):
    page = admin_client.get(f"/team/{agent.pk}/active/").content.decode()
    assert "logged out of every browser at once" in page
    agent.refresh_from_db()
    assert agent.is_active


def test_an_admin_cannot_deactivate_themself_on_the_page(admin_client, admin_user):
    response = admin_client.post(f"/team/{admin_user.pk}/active/", {"is_active": "0"}, follow=True)
    assert "You cannot deactivate yourself" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.is_active


def test_a_reactivated_person_logs_in_again_with_their_password(admin_client, agent):
    from tests.conftest import PASSWORD

    admin_client.post(f"/team/{agent.pk}/active/", {"is_active": "0"})
    admin_client.post(f"/team/{agent.pk}/active/", {"is_active": "1"})
    response = Client().post("/login/", {"username": "alex", "password": PASSWORD})
    assert response.status_code == 302 and response.url == "/"


# --- Under real concurrency (threads, each with its own connection) -------------------------
def all_at_once(calls):
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(n):
        try:
            start.wait()
            results[n] = calls[n]()
        except team.TeamError as refused:
            results[n] = refused
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.fixture
def two_admins(transactional_db):
    group = Group.objects.get_or_create(name=ADMIN_GROUP)[0]
    admins = [User.objects.create_user(name) for name in ("ann", "bob")]
    for admin in admins:
        admin.groups.add(group)
    return admins


def test_two_admins_deactivating_each_other_at_once_leave_one_admin(two_admins, counts):
    ann, bob = two_admins
    results = all_at_once(
        [
            lambda: team.person_deactivate(actor=ann, user=User.objects.get(pk=bob.pk)),
            lambda: team.person_deactivate(actor=bob, user=User.objects.get(pk=ann.pk)),
        ]
    )
    refused = [r for r in results if isinstance(r, team.TeamError)]
    assert results.count(True) == 1 and len(refused) == 1, results
    assert str(refused[0]) == "The last active admin cannot be deactivated."
    assert User.objects.filter(is_active=True).count() == 1
    counts(
        f"admins deactivating each other ({connection.vendor})",
        tries=2,
        done=results.count(True),
        refused=len(refused),
    )


def test_two_admins_demoting_each_other_at_once_leave_one_admin(two_admins):
    ann, bob = two_admins
    results = all_at_once(
        [
            lambda: team.person_set_role(actor=ann, user=User.objects.get(pk=bob.pk), role="agent"),
            lambda: team.person_set_role(actor=bob, user=User.objects.get(pk=ann.pk), role="agent"),
        ]
    )
    assert results.count(True) == 1, results
    assert sum(1 for u in User.objects.all() if team.person_facts(u)["role"] == "admin") == 1


def test_of_many_deactivations_of_one_person_one_is_recorded(transactional_db, counts):
    group = Group.objects.get_or_create(name=ADMIN_GROUP)[0]
    admins = [User.objects.create_user(f"admin{n}") for n in range(6)]
    for admin in admins:
        admin.groups.add(group)
    target = User.objects.create_user("target")
    results = all_at_once(
        [
            (lambda a=a: team.person_deactivate(actor=a, user=User.objects.get(pk=target.pk)))
            for a in admins
        ]
    )
    assert results.count(True) == 1 and results.count(False) == 5, results
    assert AuditEntry.objects.filter(action="person_deactivated").count() == 1
