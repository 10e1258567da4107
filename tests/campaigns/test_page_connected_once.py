"""One Facebook page, one live entry point. Saving credentials that open a page another entry
point holds is refused, naming it (form: 409 with "Move the page here"; API: 409 with the
other entry point), unless the admin moves it, which archives the other. The database decides
two saves at once. And the Graph call of a credentials check runs with no transaction open."""

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns import services as builder
from campaigns.models import AuditEntry, EntryPoint
from messenger import setup as page_setup
from messenger.models import FacebookPage
from messenger.setup import KIND
from tests.conftest import PAGE, connect_page

CREDENTIALS = {
    "app_id": PAGE["app_id"],
    "app_secret": PAGE["app_secret"],
    "page_access_token": PAGE["access_token"],
}


@pytest.fixture
def admin_api(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.fixture
def second_entry_point(other_campaign):
    return page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Brand page")


def panel_url(entry_point):
    return reverse("campaigns:entry_point", args=[entry_point.pk])


def test_the_form_refuses_a_page_connected_elsewhere_and_names_it(
    admin_client, connected_page, second_entry_point
):
    response = admin_client.post(panel_url(second_entry_point), CREDENTIALS)
    assert response.status_code == 409
    html = response.content.decode()
    assert "already connected to campaign “Spring sale”, entry point “Acme page”" in html
    assert 'data-testid="move-page"' in html and "Move the page here</button>" in html
    assert '<span class="badge badge-err">Not connected</span>' in html
    page = FacebookPage.objects.get(entry_point=second_entry_point)
    assert page.page_id == "" and page.app_secret == PAGE["app_secret"]  # saved, not connected
    connected_page.refresh_from_db()
    assert connected_page.page_id == PAGE["page_id"]
    assert not connected_page.entry_point_archived


def test_moving_the_page_here_archives_the_other_and_both_campaigns_hear_of_it(
    admin_client, admin_user, connected_page, second_entry_point, campaign, other_campaign
):
    admin_client.post(panel_url(second_entry_point), CREDENTIALS)
    response = admin_client.post(
        reverse("messenger_builder:move_page", args=[second_entry_point.pk])
    )
    assert response.status_code == 302
    moved = FacebookPage.objects.get(entry_point=second_entry_point)
    assert (moved.page_id, moved.token_status) == (PAGE["page_id"], "valid")
    old = EntryPoint.objects.get(pk=connected_page.entry_point_id)
    assert old.is_archived and old.facebook_page.webhook_key is None
    archived = AuditEntry.objects.get(action="entry_point_archived")
    assert (archived.campaign, archived.actor) == (campaign, admin_user)
    assert archived.details == {
        "page_moved_to": {"entry_point": "Brand page", "campaign": "Other brand"}
    }
    moved_entry = AuditEntry.objects.get(action="page_moved")
    assert moved_entry.campaign == other_campaign
    assert moved_entry.details["from_entry_point"] == "Acme page"
    assert moved_entry.details["from_campaign"] == "Spring sale"


def test_the_api_answers_409_naming_the_other_entry_point(
    admin_api, connected_page, second_entry_point
):
    response = admin_api.patch(
        f"/api/entry-points/{second_entry_point.pk}/", CREDENTIALS, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert "already connected to campaign “Spring sale”, entry point “Acme page”" in body["detail"]
    assert body["entry_point"] == {
        "id": connected_page.entry_point_id,
        "name": "Acme page",
        "campaign": connected_page.entry_point.campaign_id,
        "campaign_name": "Spring sale",
    }
    assert PAGE["app_secret"] not in response.content.decode()


def test_a_new_entry_point_posted_with_a_page_connected_elsewhere_is_kept_unconnected(
    admin_api, connected_page, other_campaign
):
    response = admin_api.post(
        "/api/entry-points/",
        {"campaign": other_campaign.pk, "kind": KIND, "name": "Brand page", **CREDENTIALS},
        format="json",
    )
    assert response.status_code == 409
    created = EntryPoint.objects.get(pk=response.json()["saved_entry_point"])
    assert created.campaign == other_campaign and created.facebook_page.page_id == ""


def test_the_api_moves_the_page_with_move_true(admin_api, connected_page, second_entry_point):
    response = admin_api.patch(
        f"/api/entry-points/{second_entry_point.pk}/",
        {**CREDENTIALS, "move": True},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["page_id"] == PAGE["page_id"]
    old = admin_api.get(f"/api/entry-points/{connected_page.entry_point_id}/").json()
    assert old["is_archived"] is True and old["webhook_url"] == ""


def test_saving_the_same_pages_credentials_again_on_its_own_entry_point_is_fine(
    admin_api, connected_page
):
    response = admin_api.patch(
        f"/api/entry-points/{connected_page.entry_point_id}/", CREDENTIALS, format="json"
    )
    assert response.status_code == 200 and response.json()["page_id"] == PAGE["page_id"]


def test_an_archived_entry_points_page_may_be_connected_again(
    admin_api, connected_page, second_entry_point
):
    builder.entry_point_archive(entry_point=connected_page.entry_point)
    response = admin_api.patch(
        f"/api/entry-points/{second_entry_point.pk}/", CREDENTIALS, format="json"
    )
    assert response.status_code == 200 and response.json()["page_id"] == PAGE["page_id"]


def test_delete_archives_the_webhook_then_answers_404_and_conversations_stay(
    admin_api, client, connected_page
):
    from agent_desktop.models import Contact

    Contact.objects.create(
        channel="messenger", entry_point=connected_page.entry_point, external_id="1"
    )
    webhook = page_setup.webhook_path(connected_page)
    response = admin_api.delete(f"/api/entry-points/{connected_page.entry_point_id}/")
    assert response.status_code == 204
    assert admin_api.get(f"/api/entry-points/{connected_page.entry_point_id}/").json()[
        "is_archived"
    ]
    assert client.post(webhook, data="{}", content_type="application/json").status_code == 404
    assert Contact.objects.filter(entry_point=connected_page.entry_point).count() == 1


def test_the_database_holds_one_live_entry_point_per_page(connected_page, second_entry_point):
    with pytest.raises(IntegrityError), transaction.atomic():
        FacebookPage.objects.filter(entry_point=second_entry_point).update(page_id=PAGE["page_id"])


# --- Real concurrency ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_of_two_saves_of_one_page_at_once_exactly_one_connects_it(
    campaign, other_campaign, fake_graph, counts
):
    """Both Graph checks are answered together (both saves have looked for another holder and
    found none), so only the database's constraint can tell them apart."""
    entry_points = [
        page_setup.facebook_page_entry_point_create(campaign=campaign, name="First"),
        page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Second"),
    ]
    fake_graph.answer_together(2, path_contains="/me")
    start = threading.Barrier(2)
    checks = [None, None]

    def save(n):
        try:
            start.wait()
            page = FacebookPage.objects.get(entry_point=entry_points[n])
            checks[n] = page_setup.facebook_page_save_credentials(page=page, **CREDENTIALS)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=save, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake_graph.most_calls_at_once == 2
    assert sorted(check.ok for check in checks) == [False, True], [c.message for c in checks]
    winner = entry_points[[check.ok for check in checks].index(True)]
    loser_check = next(check for check in checks if not check.ok)
    assert loser_check.connected_elsewhere == winner
    assert list(FacebookPage.objects.exclude(page_id="").values_list("entry_point", flat=True)) == [
        winner.pk
    ]
    counts(
        f"concurrent saves of one page ({connection.vendor})",
        saves=2,
        connected=1,
        refused_naming_the_other=1,
    )


# --- No transaction during the Graph call ------------------------------------------------------
def open_transaction_seen_during_graph_me(fake_graph):
    """Watch, from the fake's thread, whether the caller's connection is inside a transaction
    while Graph answers /me. Returns the list the answers go into."""
    caller = connections["default"]  # the test thread's connection, where the view runs
    seen = []
    fake_graph.run_during_next(lambda: seen.append(caller.in_atomic_block), path_contains="/me")
    return seen


@pytest.mark.django_db(transaction=True)
def test_the_api_checks_credentials_with_no_transaction_open(admin_user, campaign, fake_graph):
    api = APIClient()
    api.force_authenticate(admin_user)
    seen = open_transaction_seen_during_graph_me(fake_graph)
    response = api.post(
        "/api/entry-points/",
        {"campaign": campaign.pk, "kind": KIND, "name": "A", **CREDENTIALS},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert seen == [False]
    seen = open_transaction_seen_during_graph_me(fake_graph)
    response = api.patch(f"/api/entry-points/{response.json()['id']}/", CREDENTIALS, format="json")
    assert response.status_code == 200
    assert seen == [False]


@pytest.mark.django_db(transaction=True)
def test_the_builder_checks_credentials_and_moves_pages_with_no_transaction_open(
    client, admin_user, campaign, other_campaign, fake_graph
):
    client.force_login(admin_user)
    first = page_setup.facebook_page_entry_point_create(campaign=campaign, name="First")
    second = page_setup.facebook_page_entry_point_create(campaign=other_campaign, name="Second")
    seen = open_transaction_seen_during_graph_me(fake_graph)
    assert client.post(panel_url(first), CREDENTIALS).status_code == 302
    assert seen == [False]
    assert client.post(panel_url(second), CREDENTIALS).status_code == 409
    seen = open_transaction_seen_during_graph_me(fake_graph)
    assert client.post(reverse("messenger_builder:move_page", args=[second.pk])).status_code == 302
    assert seen == [False]


def test_a_credentials_check_inside_a_callers_transaction_is_refused(connected_page):
    """Durable: the check must be the outermost transaction (else the caller's would be held
    across the Graph call)."""
    with pytest.raises(RuntimeError), transaction.atomic():
        connect_page(connected_page.entry_point)
