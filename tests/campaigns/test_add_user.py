"""`manage.py add_user`: how a new installation gets its first admin and agents."""

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from campaigns.roles import can_take_over, is_campaign_admin, user_role

GOOD_PASSWORD = "a long and unusual passphrase 42"


def test_an_admin_is_created_who_can_build_campaigns(db, monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", GOOD_PASSWORD)
    call_command("add_user", "maria", "--role", "admin", "--password-env", "NEW_PASSWORD")
    user = User.objects.get(username="maria")
    assert is_campaign_admin(user)
    assert user.check_password(GOOD_PASSWORD)


def test_an_agent_is_created_as_a_member_of_the_named_campaigns(
    campaign, other_campaign, monkeypatch
):
    monkeypatch.setenv("NEW_PASSWORD", GOOD_PASSWORD)
    call_command(
        "add_user",
        "sam",
        "--role",
        "agent",
        "--campaign",
        campaign.name,
        "--password-env",
        "NEW_PASSWORD",
    )
    user = User.objects.get(username="sam")
    assert not is_campaign_admin(user)
    assert list(user.campaigns.all()) == [campaign]


def test_a_supervisor_is_created_who_may_take_over_in_their_campaigns(
    campaign, other_campaign, monkeypatch
):
    monkeypatch.setenv("NEW_PASSWORD", GOOD_PASSWORD)
    call_command(
        "add_user",
        "dana",
        "--role",
        "supervisor",
        "--campaign",
        campaign.name,
        "--password-env",
        "NEW_PASSWORD",
    )
    user = User.objects.get(username="dana")
    assert (user_role(user), is_campaign_admin(user)) == ("supervisor", False)
    assert can_take_over(user, campaign) and not can_take_over(user, other_campaign)
    with pytest.raises(CommandError, match="A supervisor needs at least one --campaign"):
        call_command("add_user", "dee", "--role", "supervisor", "--password-env", "NEW_PASSWORD")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        (["--role", "agent"], "An agent needs at least one --campaign"),
        (["--role", "agent", "--campaign", "Nope"], "No campaign named 'Nope'"),
        (["--role", "admin", "--password-env", "UNSET_VARIABLE"], "UNSET_VARIABLE is empty"),
    ],
)
def test_wrong_arguments_are_explained_and_create_nobody(campaign, arguments, error):
    with pytest.raises(CommandError, match=error):
        call_command("add_user", "kim", *arguments, "--password-env", "UNSET_VARIABLE")
    assert not User.objects.filter(username="kim").exists()


def test_a_weak_password_is_refused(db, monkeypatch):
    monkeypatch.setenv("NEW_PASSWORD", "123")
    with pytest.raises(CommandError, match="too short"):
        call_command("add_user", "kim", "--role", "admin", "--password-env", "NEW_PASSWORD")
    assert not User.objects.filter(username="kim").exists()
