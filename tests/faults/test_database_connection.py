"""PostgreSQL drops the worker's connections while it processes a burst (a failover, a restart,
an idle-connection reaper): the tasks that lose their connection fail, the worker reconnects
(CONN_HEALTH_CHECKS), the sweep enqueues what is unfinished, and everything is processed exactly
once."""

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from agent_desktop.models import Contact, Message
from campaigns.services import webhook_path
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]
DELIVERIES = 40
EVENTS_PER_DELIVERY = 5


def terminate_connections_of(application_name):
    """Drop the worker's connections (only its own: others may share this database)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND application_name = %s",
            [application_name],
        )
        return cursor.fetchone()[0]


def test_connections_dropped_during_a_burst_lose_nothing_and_double_nothing(
    live_server, connected_page, start_worker, counts
):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no server connection to drop")
    worker_name = f"cb-fault-worker-{uuid.uuid4().hex[:8]}"
    start_worker(
        concurrency=2,
        beat=True,
        env={
            "PGAPPNAME": worker_name,  # libpq names the worker's connections after it
            "DELIVERY_SWEEP_AFTER_SECONDS": "1",
            "DELIVERY_SWEEP_INTERVAL_SECONDS": "1",
        },
    )
    url = live_server.url + webhook_path(connected_page)
    bodies = [
        page_body(
            PAGE_ID,
            *[
                text_item(PAGE_ID, f"95000000000{n:05d}", f"burst {n}.{i}", mid=new_mid())
                for i in range(EVENTS_PER_DELIVERY)
            ],
        )
        for n in range(DELIVERIES)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda b: post_signed(url, b, PAGE["app_secret"]).status_code, bodies)
        )
    assert statuses == [200] * DELIVERIES

    terminated, rounds = 0, 0
    while WebhookDelivery.objects.filter(status="received").exists() and rounds < 20:
        terminated += terminate_connections_of(worker_name)
        rounds += 1
        time.sleep(0.15)
    assert terminated > 0, "the worker never held a connection to drop"

    wait_until(
        lambda: WebhookDelivery.objects.filter(status="processed").count() == DELIVERIES,
        timeout=90,
        message=f"{DELIVERIES} deliveries processed after the connections came back",
    )
    expected = DELIVERIES * EVENTS_PER_DELIVERY
    mids = list(Message.objects.values_list("mid", flat=True))
    assert len(mids) == len(set(mids)) == expected
    assert Contact.objects.count() == DELIVERIES
    assert not WebhookDelivery.objects.filter(status="failed").exists()
    retried = WebhookDelivery.objects.filter(attempts__gte=2).count()
    counts(
        "PostgreSQL connections dropped",
        deliveries=DELIVERIES,
        connections_terminated=terminated,
        deliveries_run_again=retried,
        messages=len(mids),
        expected=expected,
    )
