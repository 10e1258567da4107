"""Shared fixtures: personas, campaigns, and the fake Graph API over real HTTP."""

import contextlib
import os

import pytest
from django.contrib.auth.models import Group, User
from django.db import DEFAULT_DB_ALIAS
from django.test import TestCase

from campaigns.models import Campaign
from campaigns.roles import ADMIN_GROUP
from messenger import setup as page_setup
from messenger.sandbox import simulator
from messenger.sandbox.demo import DEMO_PAGE
from messenger.sandbox.fake_graph import FakeGraphAPI

pytest_plugins = ["tests.processes", "tests.counts"]

# CI sets this: a test that would skip for want of a service (Chromium, …) fails instead.
REQUIRE_ALL_SERVICES = os.environ.get("REQUIRE_ALL_SERVICES") == "1"


def skip_or_fail(reason):
    """Skip on a newcomer's machine that lacks a service; fail in CI, where it must be there."""
    if REQUIRE_ALL_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_ALL_SERVICES=1: CI must provide it)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _desk_lists_drawn_per_desk(settings):
    """Each desk draws its own list, so a test sees a change at the next poll; the rows shared
    between desks (agent_desktop.desk_lists) have their own tests, which set the window."""
    settings.DESK_LIST_SHARE_SECONDS = 0


@pytest.fixture
def django_capture_on_commit_callbacks():
    """pytest-django's fixture, without the desk's change-token renewals
    (agent_desktop.desk_versions), which follow every write: tests count the work a commit
    hands on (sends, tasks). With execute=True the renewals run too."""

    @contextlib.contextmanager
    def capture(*, using=DEFAULT_DB_ALIAS, execute=False):
        with TestCase.captureOnCommitCallbacks(using=using, execute=execute) as callbacks:
            yield callbacks
        callbacks[:] = [c for c in callbacks if not getattr(c, "renews_desk_tokens", False)]

    return capture


# --- Fake Graph API -------------------------------------------------------------------------
PAGE = {
    "page_id": "112233445566778",
    "name": "Acme Support",
    "access_token": "EAAGtestPageAccessToken0123456789abcdefXYZ",
    "app_id": "1234567890123456",
    "app_secret": "0123456789abcdef0123456789abcdef",
}


@pytest.fixture(scope="session")
def fake_graph_server():
    server = FakeGraphAPI().start()
    yield server
    server.stop()


@pytest.fixture
def fake_graph(fake_graph_server, settings):
    """The fake Graph API, emptied, with one page (PAGE) and GRAPH_API_URL pointing at it."""
    fake_graph_server.reset()
    fake_graph_server.add_page(**PAGE)
    settings.GRAPH_API_URL = fake_graph_server.url
    return fake_graph_server


# --- Personas -------------------------------------------------------------------------------
PASSWORD = "correct-horse-battery"


@pytest.fixture
def admin_user(db):
    user = User.objects.create_user("ada", password=PASSWORD, first_name="Ada", last_name="Admin")
    user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    return user


@pytest.fixture
def campaign(db):
    return Campaign.objects.create(name="Spring sale", description="Questions about the sale")


@pytest.fixture
def other_campaign(db):
    return Campaign.objects.create(name="Other brand")


@pytest.fixture
def agent(db, campaign):
    user = User.objects.create_user("alex", password=PASSWORD, first_name="Alex")
    campaign.agents.add(user)
    return user


@pytest.fixture
def other_campaign_agent(db, other_campaign):
    user = User.objects.create_user("olga", password=PASSWORD)
    other_campaign.agents.add(user)
    return user


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def agent_client(client, agent):
    client.force_login(agent)
    return client


# --- Entry points ---------------------------------------------------------------------------
@pytest.fixture
def entry_point(campaign):
    return page_setup.facebook_page_entry_point_create(campaign=campaign, name="Acme page")


def connect_page(entry_point, credentials=PAGE):
    """Save and check an entry point's credentials (keys as in PAGE) and get its webhook."""
    page = entry_point.facebook_page
    check = page_setup.facebook_page_save_credentials(
        page=page,
        app_id=credentials["app_id"],
        app_secret=credentials["app_secret"],
        page_access_token=credentials["access_token"],
    )
    assert check.ok, check.message
    page_setup.facebook_page_generate_webhook(page=page)
    return page


@pytest.fixture
def connected_page(entry_point, fake_graph):
    """A Facebook Page entry point with checked credentials and a webhook."""
    return connect_page(entry_point)


@pytest.fixture
def sandbox(live_server, settings):
    """The app's own sandbox (fake Graph API and simulator) at the live server's address:
    `make run`'s set-up. Tests using it need django_db(transaction=True)."""
    settings.GRAPH_API_URL = f"{live_server.url}/sandbox/graph/v25.0"
    simulator.reset()
    return simulator.sandbox_graph()


@pytest.fixture
def demo_page(sandbox, campaign):
    """The demo page, connected through the sandbox's own fake Graph API."""
    entry_point = page_setup.facebook_page_entry_point_create(campaign=campaign, name="Demo page")
    return connect_page(entry_point, DEMO_PAGE)
