"""Parsing webhook bodies into typed events: every shared payload, and random garbage."""

import contextlib
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messenger import events as ev
from tests.fixtures import MESSENGER_PAYLOADS as PAYLOADS
from tests.messenger.conftest import PSID, load_payload

PAGE_ID = "112233445566778"


def only_event(name):
    (event,) = ev.parse_body(load_payload(name)).events
    return event


def test_a_text_message():
    event = only_event("01")
    assert isinstance(event, ev.MessageEvent) and event.kind == "message"
    assert (event.page_id, event.psid) == (PAGE_ID, PSID)
    assert event.text == "Hi, I need help with my order #4521"
    assert event.timestamp.isoformat() == "2026-01-01T00:00:00+00:00"


def test_a_quick_reply_and_a_reply_to():
    assert only_event("02").quick_reply_payload
    assert only_event("03").reply_to_mid.startswith("m_")


@pytest.mark.parametrize(
    ("name", "types"),
    [
        ("04", ["image"]),
        ("05", ["image", "image"]),
        ("06", ["video"]),
        ("07", ["audio"]),
        ("08", ["file"]),
        ("09", ["location"]),
        ("10", ["fallback"]),
        ("11", ["fallback"]),
        ("13", ["template"]),
    ],
)
def test_attachments_of_every_type(name, types):
    event = only_event(name)
    assert [a.type for a in event.attachments] == types
    for attachment in event.attachments:
        if attachment.type != "template":
            assert attachment.url.startswith("https://")


def test_a_legacy_location_keeps_its_coordinates():
    (attachment,) = only_event("09").attachments
    assert attachment.as_dict()["lat"] == 52.52 and attachment.as_dict()["long"] == 13.405


def test_both_fallback_shapes_give_url_and_title():
    new, old = only_event("10").attachments[0], only_event("11").attachments[0]
    assert new.title == old.title == "Blue Widget - Example Store"
    assert new.url and old.url


def test_echoes_take_the_customer_from_the_recipient():
    ours, inbox = only_event("14"), only_event("15")
    assert ours.is_echo and ours.kind == "echo" and ours.psid == PSID
    assert ours.app_id == "1234567890123456" and ours.metadata == "agent:17;ticket:4521"
    assert inbox.app_id == "263902037430900"  # Facebook's own app: a reply from the Page Inbox


def test_delivery_with_and_without_mids_and_no_timestamp():
    with_mids, watermark_only = only_event("17"), only_event("18")
    assert len(with_mids.mids) == 1 and with_mids.watermark is not None
    assert watermark_only.mids == () and watermark_only.watermark is not None
    assert watermark_only.timestamp is not None  # falls back to the entry's time


def test_read_postback_referral_reaction_optin_handover():
    assert only_event("19").kind == "read"
    postback = only_event("20")
    assert (postback.title, postback.payload) == ("Talk to an agent", "HANDOFF_HUMAN")
    assert only_event("21").referral
    assert only_event("22").ref == "order-4521"
    assert only_event("23").ad_id
    assert only_event("27").action == "react" and only_event("28").action == "unreact"
    assert only_event("25").kind == "optin"
    assert only_event("30").action == "pass_thread_control"
    assert only_event("31").action == "take_thread_control"


def test_a_chat_plugin_event_without_a_psid_is_kept_as_ignored():
    plugin = only_event("24")
    assert isinstance(plugin, ev.IgnoredEvent) and plugin.kind == "referral"


def test_a_policy_enforcement_is_parsed_with_facebooks_action_and_reason():
    policy = only_event("32")
    assert isinstance(policy, ev.PolicyEnforcementEvent)
    assert policy.kind == "policy_enforcement"
    assert (policy.page_id, policy.action) == ("112233445566778", "block")
    assert policy.reason.startswith("The bot violated our Platform Policies.")


def test_standby_events_are_marked():
    event = only_event("29")
    assert event.standby and event.kind == "message"


def test_a_timestamp_in_seconds_is_read_as_seconds():
    assert only_event("33").timestamp.year == 2026


def test_batches_keep_their_order_and_pages():
    events = ev.parse_body(load_payload("40")).events
    assert [e.kind for e in events][:3] == ["message", "message", "read"]
    assert {e.page_id for e in events} == {PAGE_ID, "998877665544332"}
    assert len(ev.parse_body(load_payload("41")).events) == 2


def test_another_object_is_ignored_as_a_whole():
    parsed = ev.parse_body({"object": "instagram", "entry": []})
    assert parsed.events == [] and "not a Messenger page" in parsed.ignored_reason


def test_unknown_event_kinds_are_ignored_not_errors():
    body = {
        "object": "page",
        "entry": [
            {
                "id": PAGE_ID,
                "messaging": [
                    {
                        "sender": {"id": PSID},
                        "recipient": {"id": PAGE_ID},
                        "timestamp": 1,
                        "message_edit": {},
                    }
                ],
            }
        ],
    }
    (event,) = ev.parse_body(body).events
    assert isinstance(event, ev.IgnoredEvent) and event.kind == "message_edit"


@pytest.mark.parametrize("body", [[], "x", 1, None, {"object": "page", "entry": {}}])
def test_what_is_not_a_page_body_raises_only_payload_error(body):
    with pytest.raises(ev.PayloadError):
        ev.parse_body(body)


def test_every_shared_webhook_payload_parses():
    for path in sorted(PAYLOADS.glob("[0-4]*.json")):
        body = json.loads(path.read_text())
        if body.get("object") != "page":
            continue
        assert ev.parse_body(body).events, path.name


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)


def _mutations():
    keys = [
        "object",
        "entry",
        "id",
        "time",
        "messaging",
        "standby",
        "sender",
        "recipient",
        "timestamp",
        "message",
        "mid",
        "text",
        "attachments",
        "payload",
        "delivery",
        "read",
        "watermark",
        "mids",
        "postback",
        "reaction",
        "referral",
        "is_echo",
        "app_id",
    ]
    return st.lists(st.tuples(st.sampled_from(keys), json_values), max_size=6)


def _mutate(value, mutations, index=0):
    """Overwrite keys at every depth with random values."""
    if isinstance(value, dict):
        value = {k: _mutate(v, mutations, index + 1) for k, v in value.items()}
        for position, (key, new) in enumerate(mutations):
            if (position + index) % 3 == 0:
                value[key] = new
    elif isinstance(value, list):
        value = [_mutate(v, mutations, index + 1) for v in value]
    return value


SAMPLES = [load_payload(n) for n in ("01", "04", "09", "14", "17", "20", "27", "29", "40")]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), _mutations())
def test_mutated_bodies_never_raise_anything_but_payload_error(sample, mutations):
    try:
        parsed = ev.parse_body(_mutate(sample, mutations))
    except ev.PayloadError:
        return
    for event in parsed.events:
        assert isinstance(event.kind, str)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_json_never_raises_anything_but_payload_error(value):
    with contextlib.suppress(ev.PayloadError):
        ev.parse_body(value)


def test_attachment_links_that_are_not_web_urls_are_dropped():
    body = load_payload("10")
    body["entry"][0]["messaging"][0]["message"]["attachments"][0]["payload"]["url"] = (
        "javascript:alert(document.cookie)"
    )
    (attachment,) = ev.parse_body(body).events[0].attachments
    assert attachment.url == "" and attachment.title == "Blue Widget - Example Store"
