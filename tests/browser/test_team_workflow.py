"""Two agents and a supervisor working the same campaign at once, each in their own browser
context, on the real stack: concurrent claims (one wins, the other is told who), a refused
reply on a colleague's conversation, a takeover, and a closed conversation the customer
reopens through a signed webhook processed by a real worker."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect

from agent_desktop.models import Activity, Contact, Message
from campaigns.roles import SUPERVISOR_GROUP
from messenger.sandbox.facebook_webhooks import page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE, PASSWORD
from tests.processes import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PSID = "6512345678900042"


@pytest.fixture
def team(django_user_model, campaign, agent):
    sam = django_user_model.objects.create_user("sam", password=PASSWORD, first_name="Sam")
    dana = django_user_model.objects.create_user("dana", password=PASSWORD, first_name="Dana")
    dana.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    campaign.agents.add(sam, dana)
    return {"alex": agent, "sam": sam, "dana": dana}


@pytest.fixture
def desk(chromium, live_server):
    """A signed-in page per user, each in its own browser context (its own cookies)."""
    contexts = []

    def open_for(user, width=1366):
        context = chromium.new_context(
            base_url=live_server.url, viewport={"width": width, "height": 900}
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto("/login/")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Agent desktop", exact=True)).to_be_visible()
        return page

    yield open_for
    for context in contexts:
        context.close()


def timeline(page):
    return page.get_by_test_id("activity")


def test_two_agents_and_a_supervisor_work_the_same_conversation(
    desk,
    team,
    connected_page,
    live_server,
    start_worker,
    screenshot,
    assert_accessible,
    counts,
):
    now = timezone.now()
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id=PSID,
        first_name="Maria",
        last_message_at=now,
        last_inbound_at=now,
        last_message_preview="Where is my order?",
        unread_count=1,
    )
    Message.objects.create(contact=contact, direction="in", text="Where is my order?", sent_at=now)
    alex, sam = desk(team["alex"]), desk(team["sam"])
    for page in (alex, sam):
        page.get_by_test_id("contact-row").filter(has_text="Maria").click()
        expect(page.get_by_role("button", name="Claim")).to_be_visible()
    assert_accessible(alex, "conversation, unassigned")

    # Both press Claim at the same moment: both forms are submitted before either answer.
    for page in (alex, sam):
        page.evaluate("document.querySelector('form[action$=\"/claim/\"]').requestSubmit()")
    wait_until(lambda: Contact.objects.get(pk=contact.pk).assigned_to_id, timeout=10)
    contact.refresh_from_db()
    winner_name = contact.assigned_to.first_name
    won, lost = (alex, sam) if winner_name == "Alex" else (sam, alex)
    expect(won.get_by_text("Assigned to you")).to_be_visible()
    expect(lost.get_by_test_id("flash-messages")).to_contain_text(
        f"{winner_name} is already answering this customer."
    )
    expect(lost.get_by_test_id("held-by-other")).to_contain_text(
        f"{winner_name} is answering this customer"
    )
    claims = Activity.objects.filter(contact=contact, kind="claimed")
    assert list(claims.values_list("actor__first_name", flat=True)) == [winner_name]
    screenshot(lost, "team_10_claim_lost")
    assert_accessible(lost, "conversation, claim refused")

    # The one who lost writes anyway: refused, with the reason, nothing sent.
    lost.get_by_label("Reply to Maria").fill("I can help too")
    lost.get_by_role("button", name="Send").click()
    error = lost.locator("#composer-error")
    expect(error).to_contain_text(f"{winner_name} is answering this customer")
    expect(lost.get_by_label("Reply to Maria")).to_have_value("I can help too")
    assert not Message.objects.filter(direction="out").exists()
    screenshot(lost, "team_11_reply_refused")
    assert_accessible(lost, "conversation, reply refused")

    # The supervisor takes over; everyone's timeline says so.
    dana = desk(team["dana"])
    dana.get_by_test_id("contact-row").filter(has_text="Maria").click()
    dana.get_by_role("button", name="Take over").click()
    expect(dana.get_by_text("Assigned to you")).to_be_visible()
    expect(timeline(dana).filter(has_text=f"Dana took over from {winner_name}")).to_be_visible()
    expect(timeline(won).filter(has_text="Dana took over")).to_be_visible()  # live, no reload
    assert_accessible(dana, "conversation, taken over")

    # Closed by Dana, then the customer writes again: reopened, in a new conversation.
    dana.get_by_role("button", name="Close").click()
    expect(timeline(dana).filter(has_text="closed by Dana")).to_be_visible()
    expect(dana.get_by_role("button", name="Reopen")).to_be_visible()
    start_worker()
    response = post_signed(
        live_server.url + webhook_path(connected_page),
        page_body(PAGE["page_id"], text_item(PAGE["page_id"], PSID, "Still waiting!")),
        PAGE["app_secret"],
    )
    assert response.status_code == 200
    expect(timeline(dana).filter(has_text="reopened by customer")).to_be_visible(timeout=15_000)
    expect(dana.get_by_test_id("conversation-divider")).to_have_count(1)
    expect(dana.get_by_role("button", name="Close")).to_be_visible()
    screenshot(dana, "team_12_reopened_by_customer")
    assert_accessible(dana, "conversation, reopened with its activities")

    for width in (768, 390):  # the header's buttons wrap; none is cut off
        dana.set_viewport_size({"width": width, "height": 900})
        actions = dana.get_by_test_id("workflow-actions")
        box = actions.bounding_box()
        close = actions.get_by_role("button", name="Close").bounding_box()
        assert close["x"] + close["width"] <= box["x"] + box["width"] + 1, width
        screenshot(dana, f"team_13_reopened_{width}")
    texts = [t.split(" · ")[0] for t in timeline(dana).all_inner_texts()]
    assert texts == [
        f"{winner_name} claimed",
        f"Dana took over from {winner_name}",
        "closed by Dana",
        "reopened by customer",
    ]
    contact.refresh_from_db()
    assert (contact.status, contact.assigned_to) == ("assigned", team["dana"])

    # Waiting on the customer, then snoozed: the header and the row say so.
    dana.set_viewport_size({"width": 1366, "height": 900})
    dana.get_by_role("button", name="Pending").click()
    expect(dana.get_by_test_id("conversation-header")).to_contain_text("Waiting on the customer")
    expect(timeline(dana).last).to_contain_text("Dana set it waiting on the customer")
    dana.get_by_label("Snooze for").select_option(label="1 day")
    dana.get_by_role("button", name="Snooze").click()
    expect(dana.get_by_test_id("conversation-header")).to_contain_text("Snoozed until")
    expect(dana.get_by_test_id("contact-row").get_by_text("Snoozed")).to_be_visible()
    screenshot(dana, "team_14_snoozed")
    assert_accessible(dana, "conversation, snoozed")
    counts("browser claims at once", claims=2, won=claims.count(), activities=len(texts))
