"""campaigns knows kinds of entry point only through the registry (campaigns.kinds): a kind
registered here, outside any channel app, gets its Add form, its panel, its status line and
its place in the API without campaigns knowing of it; and campaigns imports no channel."""

import ast
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.urls import reverse
from rest_framework.test import APIClient

from campaigns import kinds
from campaigns.kinds import EntryPointKind, KindStatus, all_kinds
from campaigns.models import AuditEntry, EntryPoint
from campaigns.services import entry_point_create

CAMPAIGNS = Path(__file__).resolve().parents[2] / "campaigns"
NOT_FOR_CAMPAIGNS = ("messenger", "agent_desktop", "webchat")

PIGEON = EntryPointKind(
    name="pigeon",
    label="Carrier Pigeon",
    channel="pigeon_post",
    channel_label="Pigeon post",
    badge_label="Pigeon",
    badge_icon="includes/messenger_icon.html",
    add_help="Customers tie a note to a pigeon.",
    hooks={
        "create_entry_point": f"{__name__}.create_pigeon_loft",
        "panel_view": f"{__name__}.pigeon_panel",
        "status": f"{__name__}.pigeon_status",
    },
)


def create_pigeon_loft(*, campaign, name, actor=None):
    return entry_point_create(campaign=campaign, kind="pigeon", name=name, actor=actor)


def pigeon_panel(request, entry_point):
    return HttpResponse(f"The loft of {entry_point.name} ({request.method})")


def pigeon_status(entry_point):
    return KindStatus("Three pigeons home", "ok")


@pytest.fixture
def admin_api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


@pytest.fixture
def pigeon_kind(monkeypatch):
    monkeypatch.setitem(kinds._KINDS, PIGEON.name, PIGEON)  # unregistered after the test
    return PIGEON


def test_a_registered_kind_gets_its_add_form_panel_and_status(admin_client, campaign, pigeon_kind):
    page = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Add Carrier Pigeon" in page and "Customers tie a note to a pigeon." in page
    assert "Add Facebook Page" in page  # messenger's kind is still there beside it

    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]),
        {"kind": "pigeon", "name": "Roof loft"},
    )
    loft = EntryPoint.objects.get(name="Roof loft")
    assert loft.kind == "pigeon" and not hasattr(loft, "facebook_page")
    assert response.status_code == 302 and response.url == loft.get_absolute_url()
    assert AuditEntry.objects.filter(action="entry_point_created", target_id=loft.pk).exists()

    panel = admin_client.get(loft.get_absolute_url())
    assert panel.content.decode() == "The loft of Roof loft (GET)"
    posted = admin_client.post(loft.get_absolute_url(), {"anything": "x"})
    assert posted.content.decode() == "The loft of Roof loft (POST)"

    listed = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Roof loft" in listed and "Three pigeons home" in listed


def test_an_unknown_kind_is_refused_and_nothing_is_created(admin_client, campaign, admin_api):
    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]),
        {"kind": "pigeon", "name": "Roof loft"},
    )
    assert response.status_code == 400
    assert "This kind of entry point is not installed." in response.content.decode()
    api = admin_api.post(
        "/api/entry-points/", {"campaign": campaign.pk, "kind": "pigeon", "name": "L"}
    )
    assert api.status_code == 400 and "kind" in api.json()
    assert not EntryPoint.objects.exists()


def test_the_api_takes_a_kind_without_fields_of_its_own(admin_api, campaign, pigeon_kind):
    response = admin_api.post(
        "/api/entry-points/",
        {"campaign": campaign.pk, "kind": "pigeon", "name": "Loft", "app_id": "123"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "pigeon" and "app_id" not in body and "webhook_url" not in body
    changed = admin_api.patch(
        f"/api/entry-points/{body['id']}/", {"kind": "facebook_page"}, format="json"
    )
    assert changed.status_code == 400
    assert changed.json() == {"kind": ["The kind of an entry point can't change."]}
    # Messenger's own actions don't answer for another kind's entry point.
    assert admin_api.post(f"/api/entry-points/{body['id']}/webhook/").status_code == 404
    assert admin_api.get(f"/api/entry-points/{body['id']}/health/").status_code == 404


def test_a_kind_without_archive_hooks_is_archived_and_erased_alike(
    admin_client, campaign, pigeon_kind
):
    loft = create_pigeon_loft(campaign=campaign, name="Loft")
    confirm = admin_client.get(reverse("campaigns:archive", args=[loft.pk])).content.decode()
    assert "Archive “Loft”?" in confirm and "Facebook" not in confirm
    admin_client.post(reverse("campaigns:archive", args=[loft.pk]))
    loft.refresh_from_db()
    assert loft.is_archived
    archived = admin_client.get(loft.get_absolute_url()).content.decode()
    assert "Carrier Pigeon" in archived and "Webhook deliveries kept" not in archived
    erase = admin_client.get(reverse("campaigns:erase", args=[loft.pk])).content.decode()
    assert "webhook" not in erase.lower()
    erased = admin_client.post(reverse("campaigns:erase", args=[loft.pk]), {"confirm": "on"})
    assert erased.status_code == 302


def _imports_of(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module


def test_campaigns_imports_no_channel_and_not_the_desktop():
    offending = [
        f"{path.relative_to(CAMPAIGNS.parent)} imports {module}"
        for path in sorted(CAMPAIGNS.rglob("*.py"))
        for module in _imports_of(path)
        if module.split(".")[0] in NOT_FOR_CAMPAIGNS
    ]
    assert offending == []
    assert len(list(CAMPAIGNS.rglob("*.py"))) > 20  # the scan did read the app


def test_a_facebook_page_says_what_archiving_stops(admin_client, entry_point):
    confirm = admin_client.get(reverse("campaigns:archive", args=[entry_point.pk]))
    assert "Its Webhook URL stops working" in confirm.content.decode()  # messenger's hook


def test_without_messengers_kind_campaigns_says_nothing_of_facebook(
    admin_client, campaign, pigeon_kind, monkeypatch
):
    monkeypatch.delitem(kinds._KINDS, "facebook_page")  # as if messenger were not installed
    page = admin_client.get(campaign.get_absolute_url()).content.decode()
    assert "Add Carrier Pigeon" in page
    assert "Facebook" not in page and "Messenger" not in page
    response = admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]),
        {"kind": "facebook_page", "name": "Page"},
    )
    assert response.status_code == 400 and not EntryPoint.objects.exists()


@pytest.mark.parametrize("kind", [kind.name for kind in all_kinds()])
def test_every_installed_kind_is_added_shown_and_served_through_the_registry(
    admin_client, admin_api, campaign, kind
):
    label = kinds.kind_named(kind).label
    assert f"Add {label}" in admin_client.get(campaign.get_absolute_url()).content.decode()
    admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]), {"kind": kind, "name": "Web"}
    )
    added = EntryPoint.objects.get(name="Web")
    assert added.kind == kind
    assert admin_client.get(added.get_absolute_url()).status_code == 200  # its kind's panel
    listed = admin_client.get(campaign.get_absolute_url())
    assert listed.context["entry_points"][0][2] is not None  # its kind's status line

    response = admin_api.post(
        "/api/entry-points/", {"campaign": campaign.pk, "kind": kind, "name": "Api"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["kind"] == kind
