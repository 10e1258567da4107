"""The broker down during a burst of webhook posts: every post is answered 200 and stored, and
once the broker is back the worker's periodic sweep gets each one processed exactly once."""

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent_desktop.models import Message
from campaigns.services import webhook_path
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import new_mid, page_body, post_signed, text_item
from tests.conftest import PAGE
from tests.processes import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PAGE_ID = PAGE["page_id"]


def test_a_broker_outage_during_a_burst_loses_nothing_and_doubles_nothing(
    connected_page, start_web, start_worker, settings, tmp_path, request, counts
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
    counts(
        "broker outage",
        posted=n,
        answered_200=statuses.count(200),
        stored=stored,
        messages=len(mids),
    )
    if isinstance(broker_env.get("CELERY_BROKER_FOLDER"), str):
        shutil.rmtree(Path(broker_env["CELERY_BROKER_FOLDER"]), ignore_errors=True)
