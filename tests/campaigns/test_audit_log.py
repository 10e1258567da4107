"""The audit log: each admin action is recorded where it happens (by the services, with the
acting user), never with a secret's value; admins read it on /campaigns/audit/ and through
GET /api/audit/ (agents and supervisors: 403), filtered; entries older than a year go, daily."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from agent_desktop.models import Contact
from campaigns import services as builder
from campaigns.audit import audit_record
from campaigns.models import AuditEntry, Campaign
from campaigns.roles import SUPERVISOR_GROUP
from campaigns.tasks import prune_audit_log
from messenger import setup as page_setup
from messenger.setup import KIND
from tests.conftest import PAGE

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


def actions():
    return list(AuditEntry.objects.order_by("at", "pk").values_list("action", flat=True))


def test_the_builders_actions_are_recorded_with_who_did_them(
    admin_client, admin_user, fake_graph, django_capture_on_commit_callbacks
):
    response = admin_client.post(
        reverse("campaigns:create"), {"name": "Launch", "description": "New product"}
    )
    campaign = Campaign.objects.get(name="Launch")
    assert response.status_code == 302
    admin_client.post(
        reverse("campaigns:edit", args=[campaign.pk]), {"name": "Launch 2", "description": ""}
    )
    admin_client.post(reverse("campaigns:set_active", args=[campaign.pk]), {"is_active": "0"})
    admin_client.post(reverse("campaigns:set_active", args=[campaign.pk]), {"is_active": "1"})
    admin_client.post(
        reverse("campaigns:add_entry_point", args=[campaign.pk]), {"kind": KIND, "name": "Page"}
    )
    ep = campaign.entry_points.get()
    admin_client.post(reverse("campaigns:entry_point", args=[ep.pk]), CREDENTIALS)
    admin_client.post(reverse("messenger_builder:webhook", args=[ep.pk]))
    admin_client.post(reverse("messenger_builder:webhook", args=[ep.pk]), {"rotate": "1"})
    admin_client.post(reverse("messenger_builder:health", args=[ep.pk]))  # connect automatically
    Contact.objects.create(channel="messenger", entry_point=ep, external_id="77")
    admin_client.post(reverse("campaigns:archive", args=[ep.pk]))
    admin_client.post(reverse("campaigns:erase", args=[ep.pk]), {"confirm": "on"})

    assert actions() == [
        "campaign_created",
        "campaign_changed",
        "campaign_deactivated",
        "campaign_activated",
        "entry_point_created",
        "credentials_saved",
        "webhook_generated",
        "webhook_rotated",
        "page_connected",
        "entry_point_archived",
        "conversations_erased",
    ]
    entries = AuditEntry.objects.all()
    assert {e.actor for e in entries} == {admin_user}
    assert {e.campaign for e in entries} == {campaign}
    by_action = {e.action: e for e in entries}
    assert by_action["campaign_changed"].details == {
        "fields": ["name", "description"],
        "name": {"from": "Launch", "to": "Launch 2"},
    }
    assert by_action["credentials_saved"].details == {
        "fields": ["app_id", "app_secret", "page_access_token"]
    }
    assert by_action["conversations_erased"].details == {
        "contacts": 1,
        "messages": 0,
        "deliveries": 0,
    }
    steps = by_action["page_connected"].details["steps"]
    assert steps and set(steps[0]) == {"step", "ok"}


def test_saving_only_the_token_records_only_that_field(admin_user, connected_page):
    page_setup.facebook_page_save_credentials(
        page=connected_page,
        app_id=PAGE["app_id"],
        page_access_token=PAGE["access_token"],
        actor=admin_user,
    )
    entry = AuditEntry.objects.filter(action="credentials_saved").latest("pk")
    assert entry.details == {"fields": ["page_access_token"]}


def test_the_apis_writes_are_recorded_too(admin_api, admin_user, fake_graph):
    campaign = admin_api.post("/api/campaigns/", {"name": "API one"}, format="json").json()
    admin_api.patch(f"/api/campaigns/{campaign['id']}/", {"is_active": False}, format="json")
    ep = admin_api.post(
        "/api/entry-points/", {"campaign": campaign["id"], "kind": KIND, "name": "P"}, format="json"
    )
    assert ep.status_code == 400  # inactive: refused, nothing recorded for it
    admin_api.patch(f"/api/campaigns/{campaign['id']}/", {"is_active": True}, format="json")
    ep = admin_api.post(
        "/api/entry-points/", {"campaign": campaign["id"], "kind": KIND, "name": "P", **CREDENTIALS}
    ).json()
    admin_api.post(f"/api/entry-points/{ep['id']}/webhook/")
    admin_api.delete(f"/api/entry-points/{ep['id']}/")
    admin_api.post(f"/api/entry-points/{ep['id']}/erase/", {"confirm": True}, format="json")
    assert actions() == [
        "campaign_created",
        "campaign_deactivated",
        "campaign_activated",
        "entry_point_created",
        "credentials_saved",
        "webhook_generated",
        "entry_point_archived",
        "conversations_erased",
    ]
    assert set(AuditEntry.objects.values_list("actor", flat=True)) == {admin_user.pk}


def test_deactivating_twice_is_recorded_once(admin_user, campaign):
    builder.campaign_set_active(campaign=campaign, is_active=False, actor=admin_user)
    builder.campaign_set_active(campaign=campaign, is_active=False, actor=admin_user)
    assert actions() == ["campaign_deactivated"]


def test_no_secret_appears_in_the_audit_log_its_page_or_its_api(
    admin_client, admin_api, connected_page, fake_graph
):
    ep = connected_page.entry_point
    admin_client.post(reverse("campaigns:entry_point", args=[ep.pk]), CREDENTIALS)
    admin_client.post(reverse("messenger_builder:webhook", args=[ep.pk]), {"rotate": "1"})
    admin_client.post(reverse("messenger_builder:health", args=[ep.pk]))
    connected_page.refresh_from_db()
    secrets = [
        PAGE["app_secret"],
        PAGE["access_token"],
        connected_page.webhook_key,
        connected_page.verify_token,
        connected_page.app_secret_ciphertext,
        connected_page.page_access_token_ciphertext,
    ]
    stored = repr(list(AuditEntry.objects.values()))
    page = admin_client.get(reverse("campaigns:audit")).content.decode()
    api = admin_api.get("/api/audit/").content.decode()
    assert "Credentials saved" in page and "credentials_saved" in api
    for secret in secrets:
        assert secret not in stored and secret not in page and secret not in api


def test_the_audit_api_answers_the_contract_shape_newest_first(admin_api, admin_user, campaign):
    builder.campaign_set_active(campaign=campaign, is_active=False, actor=admin_user)
    builder.campaign_set_active(campaign=campaign, is_active=True, actor=admin_user)
    body = admin_api.get("/api/audit/").json()
    first = body["results"][0]
    assert {"at", "actor", "action", "target", "details"} <= set(first)
    assert first["action"] == "campaign_activated" and first["actor"] == "ada"
    assert first["target"] == {"type": "campaign", "id": campaign.pk, "name": "Spring sale"}
    assert body["results"][1]["action"] == "campaign_deactivated"


@pytest.mark.parametrize("role", ["agent", "supervisor"])
def test_the_audit_log_is_for_admins_only(client, campaign, role):
    user = User.objects.create_user(f"a {role}")
    campaign.agents.add(user)
    if role == "supervisor":
        user.groups.add(Group.objects.get_or_create(name=SUPERVISOR_GROUP)[0])
    api = APIClient()
    api.force_authenticate(user)
    assert api.get("/api/audit/").status_code == 403
    client.force_login(user)
    assert client.get(reverse("campaigns:audit")).status_code == 403
    assert "Audit log" not in client.get(reverse("agent_desktop:home")).content.decode()


def test_the_audit_api_filters_by_action_actor_campaign_and_dates(
    admin_api, admin_user, campaign, other_campaign
):
    other_admin = User.objects.create_user("bo", is_staff=True)
    now = timezone.now()
    audit_record(admin_user, "campaign_deactivated", campaign)
    audit_record(other_admin, "campaign_deactivated", other_campaign)
    old = audit_record(admin_user, "campaign_activated", campaign)
    AuditEntry.objects.filter(pk=old.pk).update(at=now - timedelta(days=10))

    def names(**query):
        response = admin_api.get("/api/audit/", query)
        assert response.status_code == 200, response.content
        return [(r["action"], r["actor"], r["target"]["name"]) for r in response.json()["results"]]

    assert names(action="campaign_activated") == [("campaign_activated", "ada", "Spring sale")]
    assert names(actor=other_admin.pk) == [("campaign_deactivated", "bo", "Other brand")]
    assert [n[2] for n in names(campaign=campaign.pk)] == ["Spring sale", "Spring sale"]
    since = (now - timedelta(days=1)).date().isoformat()
    assert len(names(since=since)) == 2
    until = (now - timedelta(days=5)).date().isoformat()
    assert names(until=until) == [("campaign_activated", "ada", "Spring sale")]


def test_bad_filters_answer_400_with_the_field_errors(admin_api, admin_client):
    response = admin_api.get("/api/audit/", {"since": "yesterday", "action": "nope"})
    assert response.status_code == 400
    assert set(response.json()) == {"since", "action"}
    page = admin_client.get(
        reverse("campaigns:audit"), {"since": "2026-05-01", "until": "2026-04-01"}
    )
    assert page.status_code == 400
    assert "The end date is before the start date." in page.content.decode()


def test_the_audit_page_lists_filters_and_says_when_empty(admin_client, admin_user, campaign):
    html = admin_client.get(reverse("campaigns:audit")).content.decode()
    assert "Nothing recorded yet" in html
    builder.campaign_set_active(campaign=campaign, is_active=False, actor=admin_user)
    html = admin_client.get(reverse("campaigns:audit")).content.decode()
    assert "Campaign deactivated" in html and "Spring sale" in html and ">ada<" in html
    filtered = admin_client.get(reverse("campaigns:audit"), {"action": "campaign_created"})
    assert "Nothing matches these filters" in filtered.content.decode()
    assert 'href="/campaigns/audit/"' in admin_client.get("/campaigns/").content.decode()


def test_the_audit_page_pages_through_many_entries(admin_client, admin_user, campaign):
    for _ in range(51):
        audit_record(admin_user, "campaign_changed", campaign, fields=["name"])
    html = admin_client.get(reverse("campaigns:audit"), {"action": "campaign_changed"}).content
    assert "Page 1 of 2" in html.decode()
    assert "action=campaign_changed&amp;page=2" in html.decode()


def test_the_daily_prune_drops_entries_older_than_a_year_and_is_idempotent(
    admin_user, campaign, settings
):
    kept = audit_record(admin_user, "campaign_changed", campaign)
    old = audit_record(admin_user, "campaign_created", campaign)
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=366))
    almost = audit_record(admin_user, "campaign_activated", campaign)
    AuditEntry.objects.filter(pk=almost.pk).update(at=timezone.now() - timedelta(days=364))
    assert prune_audit_log() == 1
    assert prune_audit_log() == 0
    assert set(AuditEntry.objects.values_list("pk", flat=True)) == {kept.pk, almost.pk}
    schedule = settings.CELERY_BEAT_SCHEDULE["prune-audit-log"]
    assert schedule == {"task": "campaigns.tasks.prune_audit_log", "schedule": 24 * 3600.0}


@pytest.mark.parametrize("value", ["99999999999999999999999", "-1", "1.5", "ab"])
def test_an_id_filter_no_row_can_have_is_a_400_not_a_crash(admin_api, value):
    for name in ("actor", "campaign"):
        response = admin_api.get("/api/audit/", {name: value})
        assert response.status_code == 400, (name, value, response.content)
        assert set(response.json()) == {name}
