"""End to end on real processes: signed posts to the running app, a real Celery worker on the
configured broker and database, the fake Graph API over HTTP."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent_desktop.models import Contact, Message
from campaigns.services import webhook_path
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
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
    assert maria.name == "Maria Schmidt" and maria.locale == "de_DE" and maria.gender == "female"
    assert maria.profile_pic.name.endswith(".png")
    statuses = sorted(WebhookDelivery.objects.values_list("status", flat=True))
    assert statuses == ["processed"] * 6
    # The shared payloads reuse two mids (01, 04, 09, 29 and 40's first message share one;
    # 20 and 40's second the other): each mid is one message, whatever else its copies say.
    assert Message.objects.filter(contact=maria).count() == 2
    assert wait_until(
        lambda: Contact.objects.filter(
            external_id="7023456789012345", profile_fetched_at__isnull=False
        ).exists(),
        message="the second customer's profile",
    )


def test_twenty_concurrent_first_messages_from_one_customer_give_one_contact(
    live_server, connected_page, start_worker
):
    start_worker(concurrency=2)
    url = live_server.url + webhook_path(connected_page)
    bodies = [
        page_body(PAGE_ID, text_item(PAGE_ID, "9100000000000001", f"hello {n}")) for n in range(20)
    ]
    with ThreadPoolExecutor(max_workers=10) as pool:
        list(pool.map(lambda body: post(url, body), bodies))
    wait_until(lambda: Message.objects.count() == 20, message="20 messages")
    contacts = list(Contact.objects.all())
    assert len(contacts) == 1
    assert contacts[0].unread_count == 20
    print(f"concurrent first messages: 20 posted, {len(contacts)} contact, 20 messages")


def test_the_same_body_five_times_in_a_row_and_at_once_gives_one_message(
    live_server, connected_page, start_worker
):
    start_worker(concurrency=2)
    url = live_server.url + webhook_path(connected_page)
    in_a_row = page_body(PAGE_ID, text_item(PAGE_ID, "9200000000000002", "again"))
    at_once = page_body(PAGE_ID, text_item(PAGE_ID, "9200000000000002", "together"))
    for _ in range(5):
        post(url, in_a_row)
    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(lambda _: post(url, at_once), range(5)))
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == 10,
        message="10 deliveries processed",
    )
    assert sorted(Message.objects.values_list("text", flat=True)) == ["again", "together"]
    assert Contact.objects.get().unread_count == 2
    print("duplicates: 10 posted, 10 stored deliveries, 2 messages")


def test_a_broker_outage_during_a_burst_loses_nothing_and_doubles_nothing(
    connected_page, start_web, start_worker, settings, tmp_path, request
):
    """The web process enqueues to a broker that is down; every post is still answered 200 and
    stored; once the broker is back, the worker's periodic sweep gets every one processed."""
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = tmp_path / "broker"
        folder.write_text("not a folder yet: the embedded broker is down")
        broker_env = {"CELERY_BROKER_FOLDER": str(folder)}

        def bring_broker_back():
            folder.unlink()
            folder.mkdir()
    else:
        redis = request.getfixturevalue("private_redis")
        broker_env = {"CELERY_BROKER_URL": redis.url}
        bring_broker_back = redis.start

    web = start_web(env=broker_env)
    url = web + webhook_path(connected_page)
    n = 30
    bodies = [
        page_body(PAGE_ID, text_item(PAGE_ID, f"93000000000{i:05d}", f"burst {i}", mid=new_mid()))
        for i in range(n)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(lambda b: post_signed(url, b, PAGE["app_secret"]).status_code, bodies)
        )
    stored = WebhookDelivery.objects.count()
    assert statuses == [200] * n and stored == n
    assert Message.objects.count() == 0

    bring_broker_back()
    start_worker(
        beat=True,
        env={
            **broker_env,
            "DELIVERY_SWEEP_AFTER_SECONDS": "1",
            "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == n,
        timeout=60,
        message=f"{n} deliveries processed after the outage",
    )
    mids = list(Message.objects.values_list("mid", flat=True))
    assert len(mids) == n and len(set(mids)) == n
    print(f"broker outage: {n} posted, {n} answered 200, {stored} stored, {len(mids)} messages")
    if isinstance(broker_env.get("CELERY_BROKER_FOLDER"), str):
        shutil.rmtree(Path(broker_env["CELERY_BROKER_FOLDER"]), ignore_errors=True)
