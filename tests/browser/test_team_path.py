"""The team in a real browser: an admin invites an agent on the Team page, the agent opens the
e-mailed link, sets a password and lands logged in; the link then says it was used. The admin
adds the agent to a campaign on the person's page, and the agent finds their profile page. Each
page is checked with axe-core and for overflow at 390, 768 and 1366 px, and photographed."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (390, 768, 1366)
NEW_PASSWORD = "a long and unusual passphrase 42"


def png():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def check_at_every_width(page, name, assert_accessible, screenshot):
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page, f"{name} at {width} px", within="main")
        overflow = page.evaluate(
            "(() => { const main = document.querySelector('main');"
            " return main.scrollWidth - main.clientWidth; })()"
        )
        assert overflow <= 0, f"{name} is {overflow} px too wide at {width} px"
        screenshot(page, f"50_team_{name}_{width}")
    page.set_viewport_size({"width": 1366, "height": 900})


def test_an_admin_invites_an_agent_who_sets_a_password_and_joins_a_campaign(
    page, chromium, live_server, admin_user, agent, campaign, assert_accessible, screenshot
):
    log_in(page, admin_user.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Team", exact=True)).to_be_visible()
    check_at_every_width(page, "0_list", assert_accessible, screenshot)

    # A mistake first: the form says what is wrong, beside the field, and keeps the rest.
    invite = page.get_by_test_id("invite-form")
    invite.get_by_label("E-mail").fill("nina@example")
    invite.get_by_label("First name").fill("Nina")
    invite.get_by_role("button", name="Send invitation").click()
    invite = page.get_by_test_id("invite-form")
    expect(invite.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(invite.get_by_label("First name")).to_have_value("Nina")
    assert_accessible(page, "invite form with an error", within="main")
    screenshot(page, "50_team_1_invite_error")

    # By keyboard: fix the address, Enter sends.
    invite.get_by_label("E-mail").fill("nina@example.com")
    invite.get_by_label("Role").select_option("agent")
    invite.get_by_label("E-mail").press("Enter")
    expect(page.get_by_text("Invitation sent to nina@example.com")).to_be_visible()
    expect(page.get_by_role("heading", name="Nina")).to_contain_text("Invited")
    check_at_every_width(page, "2_person_invited", assert_accessible, screenshot)

    [message] = mail.outbox
    link = re.search(r"https?://\S+/invite/\S+/\S+/", message.body).group(0)
    assert link.startswith(live_server.url)

    # The agent, in a browser of their own.
    nina_context = chromium.new_context(base_url=live_server.url)
    nina_page = nina_context.new_page()
    nina_page.goto(link)
    expect(nina_page.get_by_role("heading", name="Set your password")).to_be_visible()
    assert "/set-password/" in nina_page.url  # the token left the address bar
    for width in WIDTHS:
        nina_page.set_viewport_size({"width": width, "height": 800})
        assert_accessible(nina_page, f"set your password at {width} px")
        screenshot(nina_page, f"50_team_3_set_password_{width}")
    nina_page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    nina_page.get_by_label("New password confirmation").fill(NEW_PASSWORD)
    nina_page.get_by_role("button", name="Set password and log in").click()
    expect(nina_page.get_by_role("heading", name="Agent desktop", exact=True)).to_be_visible()
    expect(nina_page.get_by_text("Your password is set.")).to_be_visible()

    nina_page.goto(link)
    expect(
        nina_page.get_by_role("heading", name="This invitation was used already")
    ).to_be_visible()
    assert_accessible(nina_page, "a used invitation")
    screenshot(nina_page, "50_team_4_link_used")

    # The admin puts her in the campaign on her page.
    page.reload()
    expect(page.get_by_role("heading", name="Nina")).to_contain_text("Active")
    page.get_by_label("Spring sale").check()
    page.get_by_label("Capacity").fill("6")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("nina@example.com saved.")).to_be_visible()
    nina = User.objects.get(email="nina@example.com")
    assert list(nina.campaigns.all()) == [campaign]
    page.get_by_role("link", name="Team").first.click()
    expect(
        page.get_by_test_id("team-table").get_by_role("row", name=re.compile("Nina"))
    ).to_contain_text("Spring sale")

    # The campaign page lists her, with a way to remove her; the deactivate page asks first.
    page.goto(campaign.get_absolute_url())
    members = page.get_by_test_id("campaign-members")
    expect(members.get_by_role("link", name="Nina")).to_be_visible()
    check_at_every_width(page, "5_campaign_members", assert_accessible, screenshot)
    page.goto(f"/team/{nina.pk}/active/")
    expect(page.get_by_role("heading", name="Deactivate Nina?")).to_be_visible()
    check_at_every_width(page, "6_deactivate_confirm", assert_accessible, screenshot)

    # Her profile page, from the top bar.
    nina_page.set_viewport_size({"width": 1366, "height": 900})
    nina_page.goto("/desktop/")
    nina_page.locator(".userbox").get_by_role("link", name="Nina").click()
    expect(nina_page.get_by_role("heading", name="Your profile")).to_be_visible()
    nina_page.get_by_role("button", name="Create a token").click()
    expect(nina_page.get_by_test_id("new-token")).to_have_text(re.compile(r"^[0-9a-f]{40}$"))
    check_at_every_width(nina_page, "7_profile_token_shown", assert_accessible, screenshot)
    nina_page.goto("/profile/")
    expect(nina_page.get_by_test_id("api-token")).to_contain_text("You have a token, created on")
    expect(nina_page.get_by_test_id("new-token")).to_have_count(0)

    # A picture, then a password change with a mistake: the error shows beside the field.
    nina_page.get_by_label("New picture").set_input_files(
        {"name": "me.png", "mimeType": "image/png", "buffer": png()}
    )
    nina_page.get_by_role("button", name="Upload").click()
    expect(nina_page.get_by_text("Your picture is saved.")).to_be_visible()
    expect(nina_page.get_by_role("img", name="Your picture")).to_have_js_property("naturalWidth", 8)
    nina_page.get_by_label("Old password").fill("not it")
    nina_page.get_by_label("New password", exact=True).fill("another long passphrase 7")
    nina_page.get_by_label("New password confirmation").fill("another long passphrase 7")
    nina_page.get_by_role("button", name="Change password").click()
    expect(nina_page.get_by_text("Your old password was entered incorrectly")).to_be_visible()
    check_at_every_width(nina_page, "8_profile_password_error", assert_accessible, screenshot)
    nina_context.close()
