"""Invitations: the e-mailed link sets a password once, for 72 hours; a used, replaced or
expired link says so and what to do; a mail server that refuses is told to the admin."""

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail

from campaigns import team
from campaigns.invitations import invitation_path, invitation_tokens

NEW_PASSWORD = "a long and unusual passphrase 42"


def invite(admin_client, **fields):
    data = {"invite-email": "nina@example.com", "invite-first_name": "Nina", "invite-role": "agent"}
    data.update({f"invite-{k}": v for k, v in fields.items()})
    return admin_client.post("/team/new/invite/", data)


def link_in(message):
    return re.search(r"http://testserver(/invite/\S+/\S+/)", message.body).group(1)


def set_password(client, link, password=NEW_PASSWORD):
    """Open the link as the invited person would, then send the form."""
    form_page = client.get(link, follow=True)
    assert "Set your password" in form_page.content.decode()
    return client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )


@pytest.fixture
def later(monkeypatch):
    """Move the invitation tokens' clock (Django's generator reads it through _now)."""

    def move(**delta):
        moved = datetime.now() + timedelta(**delta)
        monkeypatch.setattr(invitation_tokens, "_now", lambda: moved)

    return move


def test_the_invited_person_sets_a_password_once_and_lands_logged_in(
    admin_client, client, campaign
):
    response = invite(admin_client, campaigns=[campaign.pk])
    nina = User.objects.get(email="nina@example.com")
    assert response.status_code == 302 and response.url == f"/team/{nina.pk}/"
    assert nina.username == "nina@example.com"  # no username given: the address is the login
    [message] = mail.outbox
    assert message.subject == "You are invited to Campaign Builder"
    assert "works once, for 72 hours" in message.body
    link = link_in(message)

    landed = set_password(client, link)
    assert landed.redirect_chain[-1][0] == "/desktop/"
    assert "Your password is set" in landed.content.decode()
    nina.refresh_from_db()
    assert nina.check_password(NEW_PASSWORD)
    assert team.person_state(nina) == "active"

    again = client.get(link, follow=True).content.decode()
    assert "This invitation was used already" in again
    assert "Set your password" not in again


def test_a_link_works_until_72_hours_then_says_to_ask_for_a_new_one(
    admin_client, client, campaign, later
):
    invite(admin_client)
    link = link_in(mail.outbox[0])
    later(hours=71, minutes=59)
    assert "Set your password" in client.get(link, follow=True).content.decode()
    later(hours=72, seconds=1)
    page = client.get(link, follow=True).content.decode()
    assert "This invitation link has expired" in page
    assert "Ask your admin for a new invitation" in page
    assert "Set your password" not in page


def test_resending_sends_a_new_link_and_voids_the_old_one(admin_client, client):
    invite(admin_client)
    nina = User.objects.get(email="nina@example.com")
    first = link_in(mail.outbox[0])
    response = admin_client.post(f"/team/{nina.pk}/resend-invitation/", follow=True)
    assert "Invitation sent to nina@example.com" in response.content.decode()
    second = link_in(mail.outbox[1])
    assert first != second
    assert "has expired" in client.get(first, follow=True).content.decode()
    set_password(client, second)
    assert User.objects.get(pk=nina.pk).check_password(NEW_PASSWORD)


def test_nothing_to_resend_once_the_password_is_set(admin_client, agent):
    response = admin_client.post(f"/team/{agent.pk}/resend-invitation/", follow=True)
    assert "has set a password already" in response.content.decode()
    assert mail.outbox == []


def test_a_deactivated_persons_link_no_longer_works(admin_client, admin_user, client):
    invite(admin_client)
    nina = User.objects.get(email="nina@example.com")
    team.person_deactivate(actor=admin_user, user=nina)
    page = client.get(link_in(mail.outbox[0]), follow=True).content.decode()
    assert "has expired" in page and "Set your password" not in page


def test_a_weak_password_is_shown_back_with_the_reason(admin_client, client):
    invite(admin_client)
    response = set_password(client, link_in(mail.outbox[0]), password="123")
    page = response.content.decode()
    assert "This password is too short" in page
    assert not User.objects.get(email="nina@example.com").has_usable_password()


def test_a_mail_server_that_refuses_is_told_and_the_person_kept_invited(admin_client, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = invite(admin_client)
    page = admin_client.get(response.url).content.decode()
    assert "could not be sent" in page and "Resend invitation" in page
    assert team.person_state(User.objects.get(email="nina@example.com")) == "invited"


def test_the_link_uses_public_base_url_when_set(admin_user, settings):
    settings.PUBLIC_BASE_URL = "https://support.example.com"
    user, sent = team.person_invite(
        actor=admin_user, username="kim", email="kim@example.com", role="agent", campaigns=[]
    )
    assert sent
    assert f"https://support.example.com{invitation_path(user)}" in mail.outbox[0].body


def test_development_prints_mail_on_the_console_and_production_reads_email_url():
    from tests.security.test_access import PRODUCTION_ENV, manage

    script = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST)"
    dev = manage("shell", "-c", script, env={"DEBUG": "1"})
    assert dev.stdout.split()[-2] == "django.core.mail.backends.console.EmailBackend"
    prod = manage(
        "shell",
        "-c",
        script + "; print(s.EMAIL_PORT, s.EMAIL_USE_TLS, s.PASSWORD_RESET_TIMEOUT)",
        env={**PRODUCTION_ENV, "EMAIL_URL": "smtp+tls://bot:pw@mail.example.com:587"},
    )
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.split()[-5:] == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "True",
        "259200",
    ]
