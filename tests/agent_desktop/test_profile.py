"""/profile/: a person's own name, picture, password, API token and notification choices."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agent_desktop import profile
from tests.conftest import PASSWORD

NEW_PASSWORD = "a long and unusual passphrase 42"


def png(size=(8, 8)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, "PNG")
    return buffer.getvalue()


def test_everyone_logged_in_has_a_profile_page_and_visitors_log_in_first(
    client, agent_client, admin_user
):
    assert Client().get("/profile/").url.startswith("/login/")
    page = agent_client.get("/profile/").content.decode()
    for heading in ("Name and e-mail", "Picture", "Password", "API token", "Notifications"):
        assert heading in page


def test_name_and_e_mail_are_saved_and_a_taken_address_is_shown_back(agent_client, agent):
    User.objects.create_user("other", email="taken@example.com")
    response = agent_client.post(
        "/profile/details/",
        {"first_name": "Alexa", "last_name": "Stone", "email": "TAKEN@example.com"},
    )
    assert response.status_code == 400
    assert "Someone on the team already has this e-mail address." in response.content.decode()
    assert 'value="Alexa"' in response.content.decode()
    agent_client.post("/profile/details/", {"first_name": "Alexa", "last_name": "Stone"})
    agent.refresh_from_db()
    assert (agent.first_name, agent.last_name) == ("Alexa", "Stone")


def test_a_picture_is_kept_under_a_name_of_its_type_and_served_sandboxed(
    agent_client, agent, admin_user
):
    upload = SimpleUploadedFile("me.gif", png(), content_type="image/gif")
    response = agent_client.post("/profile/avatar/", {"avatar": upload}, follow=True)
    assert "Your picture is saved." in response.content.decode()
    agent.person.refresh_from_db()
    assert agent.person.avatar.name.endswith(".png")  # what the bytes are, not what was said
    served = agent_client.get(f"/profile/avatar/{agent.pk}/")
    assert served["Content-Type"] == "image/png"
    assert served["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(served.streaming_content) == png()
    assert f'src="/profile/avatar/{agent.pk}/"' in response.content.decode()
    admin = Client()
    admin.force_login(admin_user)
    assert f'src="/profile/avatar/{agent.pk}/"' in admin.get("/team/").content.decode()


@pytest.mark.parametrize(
    "name, data, error",
    [
        ("me.png", b"<script>alert(1)</script>", "This file is no picture we can show"),
        ("me.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "no picture we can show"),
        ("big.png", png() + b"\0" * profile.MAX_AVATAR_BYTES, "over 2 MB"),
    ],
)
def test_anything_but_a_small_picture_is_refused_beside_the_field(
    agent_client, agent, name, data, error
):
    upload = SimpleUploadedFile(name, data, content_type="image/png")
    response = agent_client.post("/profile/avatar/", {"avatar": upload})
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not profile.person_of(User.objects.get(pk=agent.pk)).avatar


def test_a_picture_can_be_removed(agent_client, agent):
    agent_client.post("/profile/avatar/", {"avatar": SimpleUploadedFile("a.png", png())})
    agent_client.post("/profile/avatar/", {"remove": "1"})
    assert agent_client.get(f"/profile/avatar/{agent.pk}/").status_code == 404


def test_changing_the_password_keeps_this_session_and_ends_the_others(agent, agent_client):
    other_browser = Client()
    other_browser.force_login(agent)
    wrong = agent_client.post(
        "/profile/password/",
        {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert wrong.status_code == 400
    assert "Your old password was entered incorrectly" in wrong.content.decode()
    response = agent_client.post(
        "/profile/password/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        follow=True,
    )
    assert "Your password is changed." in response.content.decode()
    assert agent_client.get("/desktop/").status_code == 200
    assert other_browser.get("/desktop/").status_code == 302
    assert User.objects.get(pk=agent.pk).check_password(NEW_PASSWORD)


def test_an_api_token_is_shown_once_then_only_its_date_and_revoking_ends_it(agent_client, agent):
    created = agent_client.post("/profile/token/", {"action": "create"})
    key = Token.objects.get(user=agent).key
    assert key in created.content.decode()
    assert "no-store" in created["Cache-Control"]
    later = agent_client.get("/profile/").content.decode()
    assert key not in later and "You have a token, created on" in later

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/contacts/").status_code == 200
    agent_client.post("/profile/token/", {"action": "create"})  # replaced
    assert api.get("/api/contacts/").status_code == 401
    new_api = APIClient()
    new_api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=agent).key}")
    assert new_api.get("/api/contacts/").status_code == 200
    response = agent_client.post("/profile/token/", {"action": "revoke"}, follow=True)
    assert "Your API token is revoked" in response.content.decode()
    assert new_api.get("/api/contacts/").status_code == 401


def test_notification_choices_reach_the_desktop(agent_client, agent):
    page = agent_client.get("/desktop/").content.decode()
    for name in ("assigned", "unassigned", "mentions", "sound"):
        assert f'data-prefs-{name}="on"' in page  # all on until chosen otherwise
    agent_client.post("/profile/notifications/", {"wanted": ["assigned", "mentions"]})
    assert profile.notification_preferences_of(agent) == {
        "assigned": True,
        "unassigned": False,
        "mentions": True,
        "sound": False,
    }
    page = agent_client.get("/desktop/").content.decode()
    assert 'data-prefs-assigned="on"' in page and 'data-prefs-unassigned="off"' in page
    assert 'data-prefs-mentions="on"' in page and 'data-prefs-sound="off"' in page
    boxes = re.findall(
        r'<input type="checkbox" name="wanted"[^>]*>',
        agent_client.get("/profile/").content.decode(),
    )
    ticked = {re.search(r'value="(\w+)"', box).group(1) for box in boxes if "checked" in box}
    assert len(boxes) == 4 and ticked == {"assigned", "mentions"}


def test_an_unknown_notification_choice_is_shown_back(agent_client, agent):
    response = agent_client.post("/profile/notifications/", {"wanted": ["everything"]})
    assert response.status_code == 400
    assert "Select a valid choice. everything is not one of the available choices." in (
        response.content.decode()
    )
    assert profile.notification_preferences_of(agent)["sound"] is True
