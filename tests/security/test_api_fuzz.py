"""The REST API fuzzed from its own OpenAPI schema with Schemathesis, against a running server
(token auth as an admin): valid and invalid requests for every operation, never a 5xx."""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from agent_desktop.models import CannedResponse, Contact, Label, Message
from campaigns.audit import audit_record
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = 10  # per operation and mode: about 500 requests, well under a minute


@pytest.fixture
def api_data(connected_page, agent):
    """Something for every endpoint to find: campaigns, an entry point, contacts, messages."""
    contact = Contact.objects.create(
        channel="messenger",
        entry_point=connected_page.entry_point,
        external_id="6512345678901234",
        first_name="Ana",
    )
    Message.objects.create(
        contact=contact, direction="in", text="hello", mid="m_fuzz", sent_at=contact.created_at
    )
    Campaign.objects.create(name="Second campaign")
    canned = CannedResponse.objects.create(shortcut="hello", text="Hi {{first_name}}")
    label = Label.objects.create(name="vip", color="purple")
    entry = audit_record(None, "campaign_changed", connected_page.entry_point.campaign)
    return {
        "/api/campaigns/": connected_page.entry_point.campaign_id,
        "/api/entry-points/": connected_page.entry_point_id,
        "/api/contacts/": contact.pk,
        "/api/canned-responses/": canned.pk,
        "/api/labels/": label.pk,
        "/api/audit/": entry.pk,
        "/api/users/": agent.pk,
    }


def test_the_api_never_answers_a_server_error(live_server, admin_user, api_data, counts):
    auth = {"Authorization": f"Token {Token.objects.create(user=admin_user).key}"}
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", headers=auth, timeout=10
    )
    statuses, server_errors, nothing_to_negate, called = Counter(), [], [], Counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletes last: an entry point deleted early would leave the other operations only 404s.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")

    for operation in operations:
        # Random ids (nearly always a 404), and the id of an object that exists.
        ids = [None]
        if "{id}" in operation.path:
            ids += [next(pk for base, pk in api_data.items() if operation.path.startswith(base))]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for known_id in ids:
                path_parameters = {"id": known_id} if known_id else None
                strategy = operation.as_strategy(mode, path_parameters=path_parameters)

                @settings(
                    # Random ids are nearly always a 404: a few of them are enough.
                    max_examples=EXAMPLES if known_id or "{id}" not in operation.path else 3,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def call(case):
                    response = case.call(base_url=live_server.url, headers=auth, timeout=15)
                    statuses[response.status_code] += 1
                    called[case.operation.label] += 1
                    if response.status_code >= 500:
                        server_errors.append(f"{case.method} {case.formatted_path}")
                    case.validate_response(response, checks=[not_a_server_error], headers=auth)

                try:
                    call()
                except Unsatisfiable:
                    # Nothing in this operation can be made invalid (with these fixed ids).
                    assert mode is GenerationMode.NEGATIVE, operation.label
                    nothing_to_negate.append(operation.label)
    assert server_errors == []
    # Every operation of the schema was called (an empty schema or loop would prove nothing).
    assert len(operations) >= 10
    assert [operation.label for operation in operations if not called[operation.label]] == []
    counts(
        "API fuzzing",
        operations=len(operations),
        requests=sum(statuses.values()),
        server_errors=len(server_errors),
        detail=", ".join(f"{n}x {status}" for status, n in sorted(statuses.items())),
    )
