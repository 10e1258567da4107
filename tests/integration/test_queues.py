"""Queues that do not hold each other up, on real processes: with the workers of "Running at
scale" (one for deliveries, one for what waits on Graph), a profile fetch Graph keeps waiting
does not keep the next customer's message from being stored."""

import pytest

from agent_desktop.models import Contact, Message
from messenger.sandbox.facebook_webhooks import page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
FIRST, SECOND = "6590000000000001", "6590000000000002"


def post(url, psid, text):
    body = page_body(PAGE["page_id"], text_item(PAGE["page_id"], psid, text))
    assert post_signed(url, body, PAGE["app_secret"]).status_code == 200


def test_a_message_is_stored_while_a_profile_fetch_waits_on_graph(
    live_server, connected_page, fake_graph, start_worker
):
    # Held below the workers' Graph timeout: the fetch succeeds, 10 s late.
    fake_graph.stall_next(10, path_contains=FIRST)
    patient = {"TEST_GRAPH_API_TIMEOUT": "30"}
    start_worker(name="deliveries", queues="deliveries,celery", concurrency=1, env=patient)
    start_worker(name="graph", queues="profiles,sends,sweeps", concurrency=1, env=patient)
    url = live_server.url + webhook_path(connected_page)

    post(url, FIRST, "first customer")
    wait_until(lambda: fake_graph.calls_to("GET", f"/{FIRST}"), message="the held profile call")
    post(url, SECOND, "second customer")
    wait_until(
        lambda: Message.objects.filter(text="second customer").exists(),
        message="the second customer's message stored",
    )
    first = Contact.objects.get(external_id=FIRST)
    assert first.profile_fetched_at is None  # its fetch still waits on Graph
    wait_until(
        lambda: Contact.objects.filter(
            external_id=FIRST, profile_fetched_at__isnull=False
        ).exists(),
        message="the held profile fetched in the end",
    )
