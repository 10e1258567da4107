"""The fake Graph API's Conversations API (cursor paging, Facebook's 2 calls a second) and its
dropped subscription, through our Graph client over real HTTP."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from messenger import graph
from messenger.health import WEBHOOK_FIELDS
from tests.conftest import PAGE

PAGE_ID = PAGE["page_id"]
BASE = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


@pytest.fixture
def client(fake_graph):
    return graph.GraphClient(PAGE["access_token"], PAGE["app_secret"])


def wait_out_the_rate_limit():
    time.sleep(1.05)


def test_conversations_are_listed_most_recently_updated_first_with_cursor_paging(
    fake_graph, client
):
    for minute, psid in enumerate(["1001", "1002", "1003"]):
        fake_graph.customer_sent(
            PAGE_ID, psid, mid=f"m_{psid}", text=f"hi {psid}", at=BASE + timedelta(minutes=minute)
        )
    first = client.list_conversations(PAGE_ID, limit=2, messages_limit=5)
    assert [c["messages"]["data"][0]["from"]["id"] for c in first.items] == ["1003", "1002"]
    assert first.items[0]["updated_time"] == "2026-11-30T14:02:00+0000"
    assert first.after

    second = client.list_conversations(PAGE_ID, after=first.after, limit=2)
    (last,) = second.items
    (message,) = last["messages"]["data"]
    assert message == {
        "id": "m_1001",
        "created_time": "2026-11-30T14:00:00+0000",
        "message": "hi 1001",
        "from": {"name": "", "id": "1001"},
        "to": {"data": [{"name": PAGE["name"], "id": PAGE_ID}]},
    }
    assert second.after == ""  # Graph gives no `next` on the last page
    (call, *_) = fake_graph.calls_to("GET", f"/{PAGE_ID}/conversations")
    assert call.query["platform"] == "messenger"


def test_a_conversations_messages_page_on_newest_first(fake_graph, client):
    for n in range(5):
        fake_graph.customer_sent(
            PAGE_ID, "2001", mid=f"m_{n}", text=str(n), at=BASE + timedelta(seconds=n)
        )
    (conversation,) = client.list_conversations(PAGE_ID, messages_limit=2).items
    first = graph.ListPage.of(conversation["messages"])
    assert [m["id"] for m in first.items] == ["m_4", "m_3"]
    second = client.list_conversation_messages(conversation["id"], after=first.after, limit=2)
    assert [m["id"] for m in second.items] == ["m_2", "m_1"]
    wait_out_the_rate_limit()
    third = client.list_conversation_messages(conversation["id"], after=second.after, limit=2)
    assert [m["id"] for m in third.items] == ["m_0"] and third.after == ""


def test_a_third_call_within_a_second_is_refused_with_the_rate_limit_error(client):
    client.list_conversations(PAGE_ID)
    client.list_conversations(PAGE_ID)
    with pytest.raises(graph.RateLimited) as refused:
        client.list_conversations(PAGE_ID)
    assert refused.value.code == 613
    wait_out_the_rate_limit()
    assert client.list_conversations(PAGE_ID).items == []


def test_the_platform_must_be_named(client):
    with pytest.raises(graph.InvalidRequest):
        client.request("GET", f"/{PAGE_ID}/conversations")


def test_a_dropped_subscription_delivers_nothing_until_the_page_subscribes_again(
    fake_graph, client
):
    fake_graph.set_page_subscription(PAGE_ID, WEBHOOK_FIELDS)
    assert fake_graph.delivers_events(PAGE_ID)
    fake_graph.drop_subscription(PAGE_ID)
    assert client.get_subscribed_apps(PAGE_ID) == []
    assert not fake_graph.delivers_events(PAGE_ID)

    assert client.subscribe_page(PAGE_ID, WEBHOOK_FIELDS)
    assert fake_graph.delivers_events(PAGE_ID)
    assert [app["id"] for app in client.get_subscribed_apps(PAGE_ID)] == [PAGE["app_id"]]
