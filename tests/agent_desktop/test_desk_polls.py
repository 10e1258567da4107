"""The desk's one poll (agent_desktop.desk_polls): both regions' tokens in one request, 204 with
no database query when neither changed, else only what changed; a person who may no longer log
in is refused at their next poll."""

import re

import pytest
from django.conf import settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from agent_desktop import services
from campaigns import team

POLL = reverse("agent_desktop:poll")
HX = {"HTTP_HX_REQUEST": "true"}


def _open(client, contact):
    """The conversation's page, as an agent opens it: the poll it carries."""
    page = client.get(reverse("agent_desktop:contact", args=[contact.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="desk-poll"' in html and 'hx-trigger="every 1500ms"' in html
    return _poll_of(html)


def _poll_of(html):
    """The parameters of the poll element in `html` (a page or a poll's answer)."""
    element = re.search(r'<div id="desk-poll"[^>]*>', html).group(0)
    return dict(re.findall(r'"(\w+)": "([^"]*)"', element))


def _write(contact, text="again", mid="m_again"):
    incoming = services.IncomingMessage(sent_at=timezone.now(), text=text, mid=mid)
    services.record_inbound(contact=contact, incoming=incoming)


def test_the_page_polls_once_for_the_list_and_the_open_conversation(agent_client, make_contact):
    contact = make_contact()
    page = agent_client.get(reverse("agent_desktop:contact", args=[contact.pk])).content.decode()
    assert page.count('hx-trigger="every 1500ms"') == 1
    poll = _poll_of(page)
    assert poll["contact"] == str(contact.pk)
    assert poll["list_fp"].startswith("L") and poll["conversation_fp"].startswith("C")


def test_an_unchanged_poll_touches_no_database(
    agent_client, make_contact, django_assert_num_queries
):
    contact = make_contact()
    poll = _open(agent_client, contact)
    with django_assert_num_queries(0):
        response = agent_client.get(POLL, poll, **HX)
    assert response.status_code == 204 and response.content == b""


def test_a_message_in_the_open_conversation_comes_with_the_poll_and_is_read(
    agent_client, make_contact
):
    contact = make_contact()
    poll = _open(agent_client, contact)
    _write(contact, text="where is my parcel?")

    answer = agent_client.get(POLL, poll, **HX)
    html = answer.content.decode()
    assert answer.status_code == 200
    pane = html[html.index('id="messages-pane"') :]
    assert 'hx-swap-oob="true"' in pane[:300] and "where is my parcel?" in pane
    contact.refresh_from_db()
    assert contact.unread_count == 0  # looked at: read
    # The answer's tokens are current, reading included: the next poll draws nothing again.
    again = _poll_of(html)
    assert again["list_fp"] != poll["list_fp"]
    assert again["conversation_fp"] != poll["conversation_fp"]
    assert agent_client.get(POLL, again, **HX).status_code == 204


def test_a_change_elsewhere_in_the_list_brings_the_list_alone(agent_client, make_contact):
    contact = make_contact()
    poll = _open(agent_client, contact)
    make_contact("6500000000000002", first_name="Newcomer")

    html = agent_client.get(POLL, poll, **HX).content.decode()
    assert "Newcomer" in html
    assert 'id="contact-list" class="contact-list" hx-swap-oob="true"' in html
    assert 'id="messages-pane"' not in html
    again = _poll_of(html)
    assert again["conversation_fp"] == poll["conversation_fp"]
    assert again["contact"] == poll["contact"]


def test_a_hidden_tab_polls_the_list_and_leaves_the_conversation_unread(agent_client, make_contact):
    contact = make_contact()
    poll = _open(agent_client, contact)
    _write(contact, text="anyone there?")

    html = agent_client.get(POLL, {**poll, "away": "1"}, **HX).content.decode()
    assert 'id="contact-list"' in html and 'id="messages-pane"' not in html
    contact.refresh_from_db()
    assert contact.unread_count == 1  # nobody looked
    again = _poll_of(html)
    assert again["contact"] == str(contact.pk)  # back in view, the conversation is polled again
    assert again["conversation_fp"] == poll["conversation_fp"]
    shown = agent_client.get(POLL, again, **HX).content.decode()
    assert "anyone there?" in shown[shown.index('id="messages-pane"') :]


def test_the_desktop_without_a_conversation_polls_the_list_and_its_empty_state(
    agent_client, make_contact
):
    page = agent_client.get(reverse("agent_desktop:home")).content.decode()
    poll = _poll_of(page)
    assert poll.get("centre") == "empty" and "contact" not in poll
    make_contact(first_name="First")
    html = agent_client.get(POLL, poll, **HX).content.decode()
    assert "First" in html and 'id="conversation-empty"' in html


def _session_cached(client):
    return caches[settings.SESSION_CACHE_ALIAS].get(KEY_PREFIX + client.session.session_key)


def test_deactivation_refuses_the_next_poll_at_once_and_drops_the_cached_session(
    agent_client, agent, admin_user, make_contact, django_capture_on_commit_callbacks
):
    contact = make_contact()
    poll = _open(agent_client, contact)
    assert agent_client.get(POLL, poll, **HX).status_code == 204
    assert _session_cached(agent_client) is not None  # what the poll read instead of a query

    with django_capture_on_commit_callbacks(execute=True):
        team.person_deactivate(actor=admin_user, user=agent)

    assert _session_cached(agent_client) is None
    refused = agent_client.get(POLL, poll, **HX)
    # The whole page goes to the login, not a login form swapped into the poll element.
    assert refused.status_code == 401
    assert refused["HX-Redirect"].startswith(reverse("login") + "?next=")
    plain = agent_client.get(POLL, poll)
    assert plain.status_code == 302 and plain.url.startswith(reverse("login"))


def test_a_session_cached_again_after_deactivation_is_still_refused(
    agent_client, agent, admin_user, make_contact
):
    """A poll that read the session between its deletion and the commit put it back into the
    cache: what the poll knows of the person (renewed by the deactivation) refuses it anyway."""
    contact = make_contact()
    poll = _open(agent_client, contact)
    key = KEY_PREFIX + agent_client.session.session_key
    cached = caches[settings.SESSION_CACHE_ALIAS].get(key)
    assert agent_client.get(POLL, poll, **HX).status_code == 204

    team.person_deactivate(actor=admin_user, user=agent)
    caches[settings.SESSION_CACHE_ALIAS].set(key, cached)

    assert agent_client.get(POLL, poll, **HX).status_code == 401


def test_a_password_changed_elsewhere_ends_the_session_at_the_next_poll(
    agent_client, agent, make_contact
):
    contact = make_contact()
    poll = _open(agent_client, contact)
    agent.set_password("a-new-one-entirely")
    agent.save(update_fields=["password"])
    assert agent_client.get(POLL, poll, **HX).status_code == 401


def test_leaving_the_campaign_refuses_its_conversation(agent_client, agent, make_contact, campaign):
    contact = make_contact()
    poll = _open(agent_client, contact)
    campaign.agents.remove(agent)
    assert agent_client.get(POLL, poll, **HX).status_code == 404


@pytest.mark.parametrize("path", ["list", "conversation"])
def test_each_region_alone_still_answers_an_unchanged_poll_from_the_cache(
    path, agent_client, make_contact, django_assert_num_queries
):
    contact = make_contact()
    poll = _open(agent_client, contact)
    url = (
        reverse("agent_desktop:list")
        if path == "list"
        else reverse("agent_desktop:conversation", args=[contact.pk])
    )
    token = poll["list_fp"] if path == "list" else poll["conversation_fp"]
    with django_assert_num_queries(0):
        assert agent_client.get(url, {"fp": token}).status_code == 204


def test_with_the_session_cache_unreachable_sessions_are_read_from_the_database(
    settings, client, agent
):
    """Sessions are copies in the desk cache (config.sessions): a Redis restart must not fail the
    pages of people logged in. Here the cache becomes a Redis nothing listens on."""
    client.force_login(agent)
    settings.CACHES = {
        **settings.CACHES,
        "gone": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: connection refused
        },
    }
    settings.SESSION_CACHE_ALIAS = "gone"
    page = client.get(reverse("profile:home"))
    assert page.status_code == 200 and page.context["user"] == agent


def test_with_the_desk_cache_unreachable_desks_still_show_changes(
    settings, agent_client, make_contact, caplog
):
    """A Redis restart takes the change tokens away for a few seconds: writers carry on (a
    webhook's batch must not fail for a token) and every poll renders from the database, so an
    agent sees a new message rather than an error."""
    contact = make_contact()
    poll = _open(agent_client, contact)
    settings.CACHES = {
        **settings.CACHES,
        "desk": {
            "BACKEND": "config.redis_cache.ReusedClientRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # the discard port: connection refused
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    agent_client.force_login(contact.entry_point.campaign.agents.first())
    _write(contact, text="are you there?")  # renews tokens: must not raise

    answer = agent_client.get(POLL, poll, **HX)
    assert answer.status_code == 200
    assert "are you there?" in answer.content.decode()
    assert "desk cache is unreachable" in caplog.text


def test_an_unchanged_poll_is_answered_before_the_rest_of_the_middleware(
    agent_client, make_contact
):
    """UnchangedDeskPollMiddleware: the 204 skips the middleware below it (here the one that
    adds X-Frame-Options); a changed poll goes the whole way, to the view."""
    contact = make_contact()
    poll = _open(agent_client, contact)
    unchanged = agent_client.get(POLL, poll, **HX)
    assert unchanged.status_code == 204 and "X-Frame-Options" not in unchanged.headers
    _write(contact, text="hello?")
    changed = agent_client.get(POLL, poll, **HX)
    assert changed.status_code == 200 and changed.headers["X-Frame-Options"] == "DENY"


def test_a_poll_on_the_media_origin_is_not_answered(agent_client, make_contact, settings):
    contact = make_contact()
    poll = _open(agent_client, contact)
    settings.MEDIA_ORIGIN = "https://media.example.com"
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "media.example.com"]
    answer = agent_client.get(POLL, poll, HTTP_HOST="media.example.com", **HX)
    assert answer.status_code == 404
