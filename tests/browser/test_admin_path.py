"""The admin's whole path in a real browser: log in, build, connect, Get Webhook, verified."""

import re

import pytest
import requests
from playwright.sync_api import expect

from messenger.models import FacebookPage
from tests.browser.conftest import log_in
from tests.conftest import PAGE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_connects_a_facebook_page_and_facebook_verifies_the_webhook(
    page, admin_user, fake_graph, screenshot
):
    log_in(page, "ada")
    expect(page.get_by_role("heading", name="Campaigns", exact=True)).to_be_visible()
    screenshot(page, "01_campaigns_empty")

    page.get_by_role("link", name="Create your first campaign").click()
    page.get_by_label("Name").fill("Spring sale")
    page.get_by_label("Description").fill("Questions about the spring sale")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_text("Campaign “Spring sale” created.")).to_be_visible()

    page.get_by_label("Facebook Page name").fill("Acme Support page")
    page.get_by_role("button", name="Add Facebook Page").click()
    expect(page.get_by_role("heading", name="Acme Support page")).to_be_visible()

    # A wrong token first: the message appears beside the field, the rest is kept.
    page.get_by_label("Facebook App ID").fill(PAGE["app_id"])
    page.get_by_label("App Secret").fill(PAGE["app_secret"])
    page.get_by_label("Page Access Token").fill("EAAGthisTokenIsWrong0123456789")
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator("#id_page_access_token_error")).to_contain_text(
        "Facebook rejected the Page Access Token"
    )
    screenshot(page, "02_panel_wrong_token")

    page.get_by_label("Page Access Token").fill(PAGE["access_token"])
    page.get_by_role("button", name="Save and check").click()
    expect(page.get_by_text(f"Connected to the Facebook Page “{PAGE['name']}”.")).to_be_visible()
    expect(page.get_by_text("Saved · ends in", exact=False).first).to_be_visible()

    page.get_by_role("button", name="Get Webhook").click()
    webhook_url = page.get_by_test_id("webhook-url").input_value()
    verify_token = page.get_by_test_id("verify-token").input_value()
    assert re.fullmatch(
        rf"{re.escape(page.url.split('/campaigns/')[0])}/messenger/webhook/[\w-]{{40,}}/",
        webhook_url,
    )
    assert len(verify_token) >= 30
    expect(page.get_by_text("Waiting for Facebook to verify this webhook")).to_be_visible()

    # The copy button works from the keyboard.
    page.get_by_role("button", name="Copy the Webhook URL").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Copy the Webhook URL")).to_have_text("Copied ✓")
    assert page.evaluate("navigator.clipboard.readText()") == webhook_url
    screenshot(page, "03_panel_webhook_waiting")

    # Facebook's handshake, over real HTTP, with what the admin copied.
    answer = requests.get(
        webhook_url,
        params={
            "hub.mode": "subscribe",
            "hub.verify_token": verify_token,
            "hub.challenge": "1158201444",
        },
        timeout=5,
    )
    assert answer.status_code == 200 and answer.text == "1158201444"

    # The panel notices without a reload.
    expect(page.get_by_text("Verified by Facebook")).to_be_visible(timeout=8_000)
    screenshot(page, "04_panel_webhook_verified")

    html = page.content()
    assert PAGE["app_secret"] not in html and PAGE["access_token"] not in html
    stored = FacebookPage.objects.get()
    assert stored.webhook_verified_at is not None and stored.page_name == PAGE["name"]


def test_an_agent_is_kept_out_of_the_builder(page, agent, screenshot):
    log_in(page, "alex")
    expect(page.get_by_role("heading", name="Agent desktop", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Campaigns")).to_have_count(0)
    page.goto("/campaigns/")
    expect(page.get_by_role("heading", name="This page is for campaign admins")).to_be_visible()
    screenshot(page, "05_agent_forbidden")
