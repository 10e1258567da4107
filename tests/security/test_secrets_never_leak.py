"""An entry point's App Secret and Page Access Token appear nowhere: on no page (builder, panel,
health card, delivery log, desktop, simulator, Django admin of every model), in no API answer
(nor the OpenAPI schema), in no log line (at DEBUG, as the configured handlers write them) and
in no error report (Django's, as mailed to ADMINS or shown with DEBUG). Their Fernet
ciphertexts appear on no page or API answer either."""

import logging

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.views.debug import ExceptionReporter
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from agent_desktop import services as desktop
from agent_desktop.models import CannedResponse, Contact, Label, Message
from agent_desktop.notes import note_create
from campaigns.models import AuditEntry
from messenger import graph, outbound, services
from messenger import setup as page_setup
from messenger.models import FacebookPage, WebhookDelivery
from messenger.sandbox import simulator
from messenger.sandbox.facebook_webhooks import (
    encode_like_facebook,
    page_body,
    signature_headers,
    text_item,
)
from messenger.setup import KIND

APP_SECRET = "5ec7e75ec7e7a11b0b5ec7e75ec7e7ab"  # 32 hex digits, distinctive
PAGE_TOKEN = "EAAGdistinctivePageTokenQ9w8E7r6T5y4U3i2O1p0ZZ"
FB_PAGE = {
    "page_id": "445566778899001",
    "name": "Secret Keeper Page",
    "access_token": PAGE_TOKEN,
    "app_id": "7777666655554444",
    "app_secret": APP_SECRET,
}
PSID = "6577777777777777"


@pytest.fixture
def secret_page(admin_client, entry_point, fake_graph):
    """An entry point whose credentials went in through the builder's panel, like an admin's."""
    fake_graph.add_page(**FB_PAGE)
    response = admin_client.post(
        reverse("campaigns:entry_point", args=[entry_point.pk]),
        {"app_id": FB_PAGE["app_id"], "app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
    )
    assert response.status_code == 302
    admin_client.post(reverse("messenger_builder:webhook", args=[entry_point.pk]))
    page = FacebookPage.objects.get(entry_point=entry_point)
    assert page.app_secret == APP_SECRET and page.token_status == "valid"
    return page


def forbidden(page):
    """The secrets, and (for pages and API answers) their ciphertexts."""
    return {
        "App Secret": APP_SECRET,
        "Page Access Token": PAGE_TOKEN,
        "App Secret ciphertext": page.app_secret_ciphertext,
        "Page Access Token ciphertext": page.page_access_token_ciphertext,
    }


def leaks(text, secrets):
    return [name for name, value in secrets.items() if value and value in text]


def configured_log_lines(records):
    """Each record as the configured console handler writes it (its filters applied)."""
    (console,) = [h for h in logging.getLogger().handlers if h.get_name() == "console"]
    return [console.format(record) for record in records if console.filter(record)]


def admin_urls():
    """The changelist and every object's change page of every model in the Django admin."""
    urls = []
    for model in admin.site._registry:
        meta = model._meta
        urls.append(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        urls += [
            reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
            for pk in model._default_manager.values_list("pk", flat=True)[:5]
        ]
    return urls


def api_get_urls(api):
    """Every GET path of the OpenAPI schema, with the ids of objects that exist."""
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    ids = {
        "/api/campaigns/{id}/": FacebookPage.objects.values_list(
            "entry_point__campaign", flat=True
        ),
        "/api/entry-points/{id}/": FacebookPage.objects.values_list("entry_point", flat=True),
        "/api/contacts/{id}/": Contact.objects.values_list("pk", flat=True),
        "/api/canned-responses/{id}/": CannedResponse.objects.values_list("pk", flat=True),
        "/api/labels/{id}/": Label.objects.values_list("pk", flat=True),
        "/api/audit/{id}/": AuditEntry.objects.values_list("pk", flat=True),
        "/api/users/{id}/": User.objects.values_list("pk", flat=True),
    }
    urls = []
    for path, operations in schema["paths"].items():
        if "get" not in operations:
            continue
        if "{id}" not in path:
            urls.append(path)
            continue
        base = next(b for b in ids if path.startswith(b.removesuffix("{id}/")))
        urls += [path.replace("{id}", str(pk)) for pk in ids[base]]
    return urls


def test_the_secrets_appear_on_no_page_api_answer_log_line_or_error_report(
    admin_client, admin_user, agent, secret_page, fake_graph, settings, caplog, monkeypatch, counts
):
    caplog.set_level(logging.DEBUG)
    secrets = forbidden(secret_page)
    plaintext = {k: v for k, v in secrets.items() if "ciphertext" not in k}
    entry_point = secret_page.entry_point
    found = []

    # Traffic: messages in, a webhook refusal, profiles, replies, Graph errors.
    path = page_setup.webhook_path(secret_page)
    for n in range(3):
        body = encode_like_facebook(
            page_body(FB_PAGE["page_id"], text_item(FB_PAGE["page_id"], PSID, f"hello {n}"))
        )
        headers = signature_headers(body, APP_SECRET)
        admin_client.post(path, data=body, content_type="application/json", headers=headers)
    wrong = signature_headers(body, APP_SECRET[::-1])
    assert (
        admin_client.post(
            path, data=body, content_type="application/json", headers=wrong
        ).status_code
        == 403
    )
    admin_client.get(
        path, {"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"}
    )
    for delivery in WebhookDelivery.objects.all():
        services.process_delivery(delivery.pk)
    contact = Contact.objects.get(external_id=PSID)
    assert services.fetch_profiles([contact.pk]) == []
    campaign = entry_point.campaign
    campaign.agents.add(agent)
    (reply,) = desktop.reply_send(contact=contact, agent=agent, text="Hello!")
    outbound.send_message(reply.pk)
    fake_graph.fail_next("2_service_unavailable", path_contains="/me/messages")
    (retried,) = desktop.reply_send(contact=contact, agent=agent, text="Again")
    with pytest.raises(graph.Transient):
        outbound.send_message(retried.pk)
    fake_graph.fail_next("190_463_token_expired", path_contains="/me/messages")
    outbound.send_message(retried.pk)
    assert Message.objects.get(pk=retried.pk).status == "failed"
    fake_graph.fail_next("190_463_token_expired")
    admin_client.get(reverse("messenger_builder:health", args=[entry_point.pk]))

    # Pages, as an admin, an agent and a superuser (Django's admin).
    settings.GRAPH_API_URL = fake_graph.url
    simulator.reset()
    customer = simulator.make_customer(first_name="Maria")
    delivery = WebhookDelivery.objects.order_by("pk").first()
    ep = entry_point.pk
    builder_pages = [
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{campaign.pk}/edit/",
        f"/campaigns/entry-points/{ep}/",
        f"/campaigns/entry-points/{ep}/webhook/",
        f"/campaigns/entry-points/{ep}/webhook/status/",
        f"/campaigns/entry-points/{ep}/health/",
        f"/campaigns/entry-points/{ep}/deliveries/",
        f"/campaigns/entry-points/{ep}/deliveries/{delivery.pk}/",
        "/campaigns/audit/",
        "/sandbox/simulator/",
        f"/sandbox/simulator/{ep}/{customer.psid}/",
    ]
    desktop_pages = ["/desktop/", "/desktop/list/", f"/desktop/contacts/{contact.pk}/"]
    CannedResponse.objects.create(shortcut="hi", text="Hi {{first_name}}")
    Label.objects.create(name="vip", color="purple")
    note_create(contact=contact, author=admin_user, text=f"@{agent.username} see this")
    builder_pages += ["/desktop/settings/canned-replies/", "/desktop/settings/labels/"]
    builder_pages += ["/team/", f"/team/{agent.pk}/", "/profile/"]
    superuser = User.objects.create_superuser("root", password="x")
    visits = [(admin_user, url) for url in builder_pages + desktop_pages]
    visits += [(agent, url) for url in desktop_pages]
    visits += [(superuser, url) for url in admin_urls()]
    pages = []
    for user, url in visits:
        admin_client.force_login(user)
        response = admin_client.get(url)
        assert response.status_code == 200, url
        pages.append(response)
        found += [(url, name) for name in leaks(response.content.decode(), secrets)]
    simulator.reset()

    # The API: every GET of the schema (and the schema), and the answers to writes.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    api_urls = ["/api/schema/", *api_get_urls(api)]
    answers = [api.get(url) for url in api_urls]
    answers.append(
        api.patch(
            f"/api/entry-points/{ep}/",
            {"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
            format="json",
        )
    )
    answers.append(
        api.post(
            "/api/entry-points/",
            {
                "campaign": campaign.pk,
                "kind": KIND,
                "name": "Second",
                "app_id": FB_PAGE["app_id"],
                "app_secret": APP_SECRET,
                "page_access_token": PAGE_TOKEN,
            },
            format="json",
        )
    )
    # The second entry point's page is the first one's: refused (409), naming the first.
    assert answers[-1].status_code == 409, answers[-1].content[:200]
    for response in answers[:-1]:
        assert response.status_code < 400, (response.request["PATH_INFO"], response.content[:200])
    for response in answers:
        found += [
            (response.request["PATH_INFO"], name)
            for name in leaks(
                response.content.decode(), forbidden(FacebookPage.objects.get(entry_point=ep))
            )
        ]

    # Error reports: an unexpected failure deep in a Graph call while the panel saves the
    # secrets (Django's report shows the request's POST data and every frame's variables).
    def broken_transport(*args, **kwargs):
        raise RuntimeError("the network stack broke")

    monkeypatch.setattr(graph._session, "request", broken_transport)
    admin_client.force_login(admin_user)
    admin_client.raise_request_exception = False
    reports = []
    failing = [
        admin_client.post(
            reverse("campaigns:entry_point", args=[ep]),
            {
                "app_id": FB_PAGE["app_id"],
                "app_secret": APP_SECRET,
                "page_access_token": PAGE_TOKEN,
            },
        ),
        admin_client.post(reverse("messenger_builder:health", args=[ep])),
    ]
    api.raise_request_exception = False
    failing.append(
        api.patch(
            f"/api/entry-points/{ep}/",
            {"app_secret": APP_SECRET, "page_access_token": PAGE_TOKEN},
        )  # a form-encoded body: Django's report would list it
    )
    for response in failing:
        assert response.status_code == 500
        reporter = ExceptionReporter(response.wsgi_request, *response.exc_info)
        reports += [reporter.get_traceback_text(), reporter.get_traceback_html()]
    for n, report in enumerate(reports):
        found += [(f"error report {n}", name) for name in leaks(report, plaintext)]

    # Every log line, as the handlers write it.
    lines = configured_log_lines(caplog.records)
    assert len(lines) >= 50  # the traffic above was logged: the check below looked at it
    found += [(line[:80], name) for line in lines for name in leaks(line, plaintext)]

    assert found == []
    counts(
        "secrets",
        pages=len(pages),
        api_answers=len(answers),
        log_lines=len(lines),
        error_reports=len(reports),
        found=len(found),
    )
