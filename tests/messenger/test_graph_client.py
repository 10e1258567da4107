"""The Graph client against the fake Graph API over real HTTP."""

import json

import pytest

from messenger import graph
from messenger.sandbox.fake_graph import ERROR_BODIES
from tests.conftest import PAGE
from tests.fixtures import MESSENGER_PAYLOADS


def client(**overrides):
    return graph.GraphClient(
        overrides.get("token", PAGE["access_token"]),
        overrides.get("secret", PAGE["app_secret"]),
        timeout=overrides.get("timeout"),
    )


def test_it_reads_the_page_behind_a_token(fake_graph):
    identity = client().get_page_identity()
    assert identity == graph.PageIdentity(id=PAGE["page_id"], name=PAGE["name"])


def test_it_sends_the_token_and_its_appsecret_proof_on_every_call(fake_graph):
    client().get_page_identity()
    (call,) = fake_graph.calls_to("GET", "/me")
    assert call.access_token == PAGE["access_token"]
    assert call.query["appsecret_proof"] == graph.appsecret_proof(
        PAGE["access_token"], PAGE["app_secret"]
    )
    # HMAC-SHA256 of the token keyed with the secret, as Graph defines it.
    assert len(call.query["appsecret_proof"]) == 64


def test_an_unknown_token_raises_token_invalid(fake_graph):
    with pytest.raises(graph.TokenInvalid) as caught:
        client(token="EAAGnotAKnownTokenAtAll000000").get_page_identity()
    assert caught.value.code == 190
    assert not caught.value.retryable


def test_a_wrong_app_secret_raises_invalid_request(fake_graph):
    with pytest.raises(graph.InvalidRequest) as caught:
        client(secret="f" * 32).get_page_identity()
    assert caught.value.code == 100
    assert caught.value.subcode is None


@pytest.mark.parametrize(
    ("error", "expected_class", "retryable"),
    [
        ("190_463_token_expired", graph.TokenInvalid, False),
        ("190_460_password_changed", graph.TokenInvalid, False),
        ("10_2018278_outside_window", graph.OutsideWindow, False),
        ("551_1545041_person_unavailable", graph.RecipientUnavailable, False),
        ("100_2018001_no_matching_user", graph.RecipientUnavailable, False),
        ("100_2018218_no_profile", graph.ProfileUnavailable, False),
        ("100_2018247_insufficient_profile_permission", graph.ProfileFieldsDenied, False),
        ("100_text_too_long", graph.InvalidRequest, False),
        ("100_2018109_attachment_too_large", graph.InvalidRequest, False),
        ("613_rate_limit", graph.RateLimited, True),
        ("4_app_request_limit", graph.RateLimited, True),
        ("32_page_request_limit", graph.RateLimited, True),
        ("1200_temporary_send_failure", graph.Transient, True),
        ("2_service_unavailable", graph.Transient, True),
        ("200_2018028_app_not_live", graph.PermissionMissing, False),
        ("230_requires_pages_messaging", graph.PermissionMissing, False),
    ],
)
def test_each_graph_error_maps_to_its_type(fake_graph, error, expected_class, retryable):
    fake_graph.fail_next(error)
    with pytest.raises(graph.GraphError) as caught:
        client().get_page_identity()
    assert type(caught.value) is expected_class
    assert caught.value.retryable is retryable
    body = ERROR_BODIES[error]["error"]
    assert caught.value.code == body["code"]
    assert caught.value.subcode == body.get("error_subcode")
    assert caught.value.fbtrace_id == body["fbtrace_id"]


def test_a_5xx_without_a_graph_body_is_transient(fake_graph):
    fake_graph.fail_next_with_status(502)
    with pytest.raises(graph.Transient) as caught:
        client().get_page_identity()
    assert caught.value.http_status == 502
    assert caught.value.retryable


def test_a_slow_graph_api_times_out_as_unreachable(fake_graph):
    fake_graph.stall_next(1.5)
    with pytest.raises(graph.Unreachable) as caught:
        client(timeout=0.3).get_page_identity()
    assert "0.3 s" in str(caught.value)


def test_calls_held_to_be_answered_together_are_transient_errors_when_alone(fake_graph):
    """The fake's `answer_together` (used to prove concurrent calls) fails a lone caller."""
    fake_graph.answer_together(2, path_contains="/me", timeout=0.5)
    for _ in range(2):  # one at a time: the pair never meets
        with pytest.raises(graph.Transient) as caught:
            client().get_page_identity()
        assert caught.value.retryable and caught.value.code == 2
    assert client().get_page_identity().id == PAGE["page_id"]  # no longer held
    assert fake_graph.most_calls_at_once == 1


def test_a_closed_port_is_unreachable_and_the_message_holds_no_token(settings):
    settings.GRAPH_API_URL = "http://127.0.0.1:9/v25.0"
    with pytest.raises(graph.Unreachable) as caught:
        client().get_page_identity()
    assert caught.value.retryable
    assert PAGE["access_token"] not in str(caught.value)


def test_the_fake_serves_the_recorded_error_bodies():
    """The fake's error catalogue is the recorded 70-87 bodies, unchanged."""
    files = sorted(MESSENGER_PAYLOADS.glob("[78]*_error_*.json"))
    assert len(files) == 18
    for path in files:
        key = path.stem.split("_", 2)[2]
        assert ERROR_BODIES[key] == json.loads(path.read_text()), path.name
