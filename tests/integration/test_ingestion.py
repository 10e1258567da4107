"""End to end on real processes: signed posts to the running app, a real Celery worker on the
configured broker and database, the fake Graph API over HTTP."""

import pytest

from agent_desktop.models import Contact, Message
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import post_signed
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.messenger.conftest import load_payload
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]


def post(url, body):
    response = post_signed(url, body, PAGE["app_secret"])
    assert response.status_code == 200, response.text
    return response


def test_signed_posts_become_contacts_with_facebook_profiles(
    live_server, connected_page, fake_graph, start_worker
):
    fake_graph.add_profile(
        "6512345678901234",
        first_name="Maria",
        last_name="Schmidt",
        locale="de_DE",
        timezone=1,
        gender="female",
    )
    start_worker()
    url = live_server.url + webhook_path(connected_page)
    for name in ("01", "04", "09", "20", "29", "40"):
        post(url, load_payload(name))

    wait_until(
        lambda: WebhookDelivery.objects.filter(status="received").count() == 0,
        message="every delivery processed",
    )
    maria = wait_until(
        lambda: Contact.objects.filter(external_id="6512345678901234", first_name="Maria").first(),
        message="Maria's profile",
    )
    assert (
        maria.name == "Maria Schmidt"
        and maria.locale == "de_DE"
        and maria.channel_details["gender"] == "female"
    )
    assert maria.profile_pic.name.endswith(".png")
    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == ["processed"] * 6
    # The shared payloads reuse two mids (01, 04, 09, 29 and 40's first message share one;
    # 20 and 40's second the other): each mid is one message, whatever else its copies say.
    assert Message.objects.filter(contact=maria).count() == 2
    # 40's read receipt from a customer never seen makes no contact: it is kept, as ignored.
    assert not Contact.objects.filter(external_id="7023456789012345").exists()
    batched = WebhookDelivery.objects.get(body__contains="7023456789012345")
    assert "read: no conversation with this customer yet" in batched.last_error
