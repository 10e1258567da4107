"""The satisfaction survey in the website chat widget (sample shop, another origin, strict CSP):
after the agent closes the conversation the open panel asks the campaign's question with five
buttons; a click (keyboard) rates that conversation, and the question goes away."""

import pytest
from playwright.sync_api import expect

from agent_desktop import workflow
from agent_desktop.models import Contact
from reports.models import ConversationCycle
from tests.browser import webchat_shop
from tests.browser.test_webchat_widget import TITLE, open_chat, state_of
from tests.browser.webchat_shop import visitor_context, watch
from tests.processes import wait_until
from webchat import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
shop_server = webchat_shop.shop_server  # the fixture


@pytest.fixture
def shop(campaign, agent, shop_server):
    campaign.csat_enabled = True
    campaign.save()
    chat = services.web_chat_entry_point_create(campaign=campaign, name=TITLE).web_chat
    origin = shop_server(chat.widget_key)
    chat.allowed_origins = [origin]
    chat.save(update_fields=["allowed_origins"])
    return type("Shop", (), {"origin": origin, "key": chat.widget_key})


@pytest.fixture
def visitor(chromium):
    context = visitor_context(chromium, width=390, height=844)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.seen = watch(page)
    yield page
    context.close()
    assert page.seen["violations"] == [] and page.seen["errors"] == []


def test_the_widget_asks_after_the_close_and_the_rating_is_stored(
    visitor, shop, agent, screenshot, assert_accessible
):
    dialog = open_chat(visitor, shop)
    dialog.get_by_label("Your message").fill("Do you ship to Austria?")
    dialog.get_by_label("Your message").press("Enter")
    expect(state_of(dialog, "Do you ship to Austria?")).to_have_text("Sent")
    survey = dialog.get_by_role("group", name="How would you rate")
    expect(survey).to_have_count(0)

    workflow.contact_close(contact=Contact.objects.get(channel="webchat"), agent=agent)
    expect(survey).to_be_visible(timeout=15_000)
    expect(survey.get_by_role("button")).to_have_count(5)
    screenshot(visitor, "csat_20_widget_survey_390")
    assert_accessible(visitor, "the widget's survey")

    survey.get_by_role("button", name="5 out of 5").focus()
    visitor.keyboard.press("Enter")
    expect(dialog.get_by_text("Thank you for your rating!")).to_be_visible()
    expect(survey).to_have_count(0)
    screenshot(visitor, "csat_21_widget_thanks_390")
    assert_accessible(visitor, "the widget thanking for the rating")
    wait_until(lambda: ConversationCycle.objects.get().csat_rating == 5, timeout=10)
    assert Contact.objects.get(channel="webchat").status == Contact.Status.CLOSED
