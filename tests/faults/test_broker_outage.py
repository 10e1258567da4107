"""The broker down during a burst of webhook posts: every post is answered 200 and stored while
the web process's publishing fails, and once the broker is back the worker's periodic sweep gets
each one processed exactly once."""

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.utils import timezone

from agent_desktop.models import Message
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
from messenger.setup import webhook_path
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]
# What `messenger.delivery_queue.enqueue` logs when the broker refuses a wake-up.
FAILED_PUBLISH = re.compile(r"enqueue messenger\.tasks\.process_deliveries\(.*\) failed: ")


def failed_publishes(web):
    return len(FAILED_PUBLISH.findall(web.log()))


def test_a_broker_outage_during_a_burst_loses_nothing_and_doubles_nothing(
    connected_page, start_web, start_worker, settings, tmp_path, request, counts
):
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = tmp_path / "broker"
        folder.write_text("not a folder yet: the embedded broker is down")
        broker_env = {"CELERY_BROKER_FOLDER": str(folder)}

        def bring_broker_back():
            folder.unlink()
            folder.mkdir()
    else:
        redis = request.getfixturevalue("private_redis")  # not started: nothing listens
        broker_env = {"CELERY_BROKER_URL": redis.url}
        bring_broker_back = redis.start

    web = start_web(env=broker_env)
    url = web.url + webhook_path(connected_page)
    n = 30
    posted_mids = sorted(new_mid() for _ in range(n))
    bodies = [
        page_body(PAGE_ID, text_item(PAGE_ID, f"93000000000{i:05d}", f"burst {i}", mid=mid))
        for i, mid in enumerate(posted_mids)
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(
            pool.map(lambda b: post_signed(url, b, PAGE["app_secret"]).status_code, bodies)
        )
    stored = WebhookDelivery.objects.count()
    assert statuses == [200] * n and stored == n
    # The web process tried to wake a worker and the broker refused it (the web's own record).
    wait_until(lambda: failed_publishes(web), message="the web process's failed publish")
    # Stopped before the broker is back, the web can't publish any more: whatever reaches a
    # worker from now on comes through the sweep.
    web.stop()
    failed = failed_publishes(web)
    outage_over = timezone.now()

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
    deliveries = WebhookDelivery.objects.all()
    # A task the sweep enqueues takes the deliveries it names and any other waiting ones, so
    # one sweep may be enough for all of them.
    swept = deliveries.exclude(swept_at=None).count()
    after_the_outage = deliveries.filter(processed_at__gte=outage_over).count()
    assert swept >= 1 and after_the_outage == n
    mids = sorted(Message.objects.values_list("mid", flat=True))
    assert mids == posted_mids  # every posted message stored, and once
    counts(
        "broker outage",
        posted=len(statuses),
        answered_200=statuses.count(200),
        stored=stored,
        failed_publishes=failed,
        swept=swept,
        processed_after_the_outage=after_the_outage,
        messages=len(mids),
    )
