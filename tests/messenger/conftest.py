import copy

import pytest

from messenger import services
from messenger.models import WebhookDelivery
from messenger.sandbox.facebook_webhooks import encode_like_facebook
from tests.fixtures import messenger_payload as load_payload

PSID = "6512345678901234"  # the customer in the recorded payloads


@pytest.fixture
def payload():
    return lambda name: copy.deepcopy(load_payload(name))


@pytest.fixture
def deliver(connected_page):
    """Store a body as a delivery of the connected page and process it, as a worker would."""

    def run(body, page=None):
        raw = body if isinstance(body, str) else encode_like_facebook(body).decode()
        delivery = WebhookDelivery.objects.create(facebook_page=page or connected_page, body=raw)
        return services.process_delivery(delivery.pk)

    return run
