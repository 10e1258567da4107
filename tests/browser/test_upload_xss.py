"""The probe's chain (issue 11, item 1) in Chromium: an agent uploads `p.js` declared as an
image/gif, then `photo.html` that loads it; an admin opens the conversation and both files. The
script would add the agent to a campaign it does not belong to with the admin's session: it
never runs, no request reaches the API, and the campaign's members stay as they were."""

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from agent_desktop.models import Contact, Message
from tests.browser.conftest import _note_violation, log_in
from tests.fixtures.files import gif_script_polyglot, image_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
WIDTHS = (1366, 768, 390)


def attack_script(campaign_id, agent_id):
    """What the probe's `p.js` did: PATCH another campaign, with the session of whoever runs it."""
    return f"""
const token = (document.cookie.match(/csrftoken=([^;]+)/) || [])[1];
fetch("/api/campaigns/{campaign_id}/", {{
  method: "PATCH",
  credentials: "same-origin",
  headers: {{"Content-Type": "application/json", "X-CSRFToken": token}},
  body: JSON.stringify({{agents: [{agent_id}]}}),
}});
document.title = "ran";
""".encode()


def upload(page, name, declared_type, content):
    """Send a file from the composer, the browser declaring `declared_type`; its URL."""
    page.locator("input[name=file]").set_input_files(
        {"name": name, "mimeType": declared_type, "buffer": content}
    )
    page.get_by_role("button", name="Send").click()
    message = Message.objects.filter(direction="out").order_by("pk").last()
    url = reverse("agent_desktop:message_file", args=[message.pk])
    expect(page.get_by_test_id("messages").locator(f'a[href="{url}"]')).to_be_visible()
    return url


@pytest.fixture
def customer(entry_point):
    now = timezone.now()
    return Contact.objects.create(
        channel="messenger",
        entry_point=entry_point,
        external_id="6512345678901234",
        first_name="Maria",
        last_name="Schmidt",
        last_message_at=now,
        last_inbound_at=now,  # the reply window is open
    )


@pytest.fixture
def admin_page(chromium, live_server):
    """A second browser (its own cookies) for the admin, failing on any CSP violation too."""
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1366, "height": 900}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    violations = []
    page.on("console", lambda message: _note_violation(message, violations))
    yield page
    context.close()
    assert violations == []


def open_as_the_admin_would(admin, url):
    """Navigate to a served file, as an admin following its URL: "downloaded" or "rendered"."""
    try:
        admin.goto(url)
    except PlaywrightError as exc:  # Chromium aborts the navigation for a download
        if "Download is starting" not in str(exc) and "ERR_ABORTED" not in str(exc):
            raise
        return "downloaded"
    return "rendered"


def test_an_agents_script_upload_never_runs_in_an_admins_browser(
    page, admin_page, live_server, customer, agent, admin_user, other_campaign, screenshot, counts
):
    members_before = sorted(other_campaign.agents.values_list("pk", flat=True))
    assert agent.pk not in members_before

    # The agent: p.js declared as a GIF, then photo.html (declared as a GIF too) that loads it.
    log_in(page, agent.username)
    page.goto(f"/desktop/contacts/{customer.pk}/")
    script_url = upload(page, "p.js", "image/gif", attack_script(other_campaign.pk, agent.pk))
    html = f'<!doctype html><title>photo</title><script src="{script_url}"></script>'
    html_url = upload(page, "photo.html", "image/gif", html.encode())
    screenshot(page, "upload_xss_01_agent_sent_both_files")

    # The admin: the conversation, then each file, as links and by their URLs.
    api_requests, dialogs = [], []
    admin_page.context.on(  # popups included
        "request", lambda r: api_requests.append(r.url) if "/api/" in r.url else None
    )
    admin_page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(admin_page, admin_user.username)
    admin_page.goto(f"/desktop/contacts/{customer.pk}/")
    messages = admin_page.get_by_test_id("messages")
    expect(messages.locator(f'a[href="{script_url}"]')).to_be_visible()
    expect(messages.locator(f'a[href="{html_url}"]')).to_be_visible()
    for width in WIDTHS:
        admin_page.set_viewport_size({"width": width, "height": 900})
        screenshot(admin_page, f"upload_xss_02_admin_conversation_{width}")
    admin_page.set_viewport_size({"width": 1366, "height": 900})

    outcomes = [open_as_the_admin_would(admin_page, url) for url in (html_url, script_url)]
    assert api_requests == [] and dialogs == []
    members_after = sorted(other_campaign.agents.values_list("pk", flat=True))
    assert members_after == members_before
    assert outcomes == ["downloaded", "downloaded"]

    admin_page.goto(f"/desktop/contacts/{customer.pk}/")  # back where the admin was
    messages = admin_page.get_by_test_id("messages")
    expect(messages.locator("a.att-file", has_text="p.js")).to_be_visible()  # a file, not a picture
    downloads = []
    for url in (html_url, script_url):
        with admin_page.expect_download() as download:
            messages.locator(f'a[href="{url}"]').click()
        downloads.append(download.value.suggested_filename)
        served = admin_page.request.get(url)
        assert served.headers["content-type"] == "application/octet-stream"
        assert served.headers["content-disposition"].startswith("attachment")
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-security-policy"] == "default-src 'none'; sandbox"
    assert downloads == ["photo.html", "p.js"]
    assert api_requests == []
    kinds = [m.attachments[0]["type"] for m in Message.objects.filter(direction="out")]
    assert kinds == ["file", "file"]  # neither is an image, whatever the browser said
    counts(
        "the probe's upload chain in Chromium",
        uploads=2,
        served_as_images=0,
        downloads=len(outcomes) + len(downloads),
        api_requests=len(api_requests),
        campaigns_changed=int(members_after != members_before),
    )


def test_a_gif_that_is_also_a_script_shows_as_a_picture_and_never_runs_as_one(
    page, admin_page, customer, agent, admin_user, other_campaign, screenshot, counts
):
    """A real GIF whose bytes are also JavaScript is an image, served as image/gif with nosniff:
    even a page of ours that tried to load it as a script (an injection we don't have) runs
    nothing, because Chromium refuses an image type for a script."""
    polyglot = gif_script_polyglot(
        f"fetch('/api/campaigns/{other_campaign.pk}/',{{method:'PATCH'}});document.title='ran'"
    )
    log_in(page, agent.username)
    page.goto(f"/desktop/contacts/{customer.pk}/")
    page.locator("input[name=file]").set_input_files(
        {"name": "funny.gif", "mimeType": "image/gif", "buffer": polyglot}
    )
    page.get_by_role("button", name="Send").click()
    picture = page.get_by_test_id("messages").locator("img.att-image")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") == 10799  # the browser decoded it
    url = picture.get_attribute("src")

    api_requests = []
    admin_page.on("request", lambda r: api_requests.append(r.url) if "/api/" in r.url else None)
    log_in(admin_page, admin_user.username)
    admin_page.goto(f"/desktop/contacts/{customer.pk}/")
    expect(admin_page.get_by_test_id("messages").locator("img.att-image")).to_be_visible()
    screenshot(admin_page, "upload_xss_03_admin_sees_the_gif")
    outcome = admin_page.evaluate(
        """url => new Promise(resolve => {
            const script = document.createElement("script");
            script.src = url;
            script.onload = () => resolve("ran");
            script.onerror = () => resolve("refused");
            document.head.appendChild(script);
        })""",
        url,
    )
    assert outcome == "refused"
    assert api_requests == [] and admin_page.title() != "ran"
    assert agent.pk not in other_campaign.agents.values_list("pk", flat=True)
    counts("a GIF that is also a script, loaded as a script", runs=0, refused=1)


def test_with_a_media_origin_files_load_from_there_and_still_never_run(
    page, admin_page, live_server, customer, agent, admin_user, settings, screenshot
):
    """MEDIA_ORIGIN on another host name of the same server (`media.localhost`, which Chromium
    resolves to loopback): pictures load from it under the page's policy, files download from
    it, and the admin's session cookie never goes there."""
    media_origin = live_server.url.replace("://localhost", "://media.localhost").replace(
        "://127.0.0.1", "://media.localhost"
    )
    settings.MEDIA_ORIGIN = media_origin
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "media.localhost"]
    log_in(page, agent.username)
    page.goto(f"/desktop/contacts/{customer.pk}/")
    page.locator("input[name=file]").set_input_files(
        {"name": "receipt.png", "mimeType": "image/png", "buffer": image_bytes("PNG")}
    )
    page.get_by_role("button", name="Send").click()
    html = b'<!doctype html><script>document.title = "ran"</script>'
    page.locator("input[name=file]").set_input_files(
        {"name": "photo.html", "mimeType": "image/gif", "buffer": html}
    )
    page.get_by_role("button", name="Send").click()

    requests = []
    admin_page.on("request", lambda request: requests.append(request))
    log_in(admin_page, admin_user.username)
    admin_page.goto(f"/desktop/contacts/{customer.pk}/")
    picture = admin_page.get_by_test_id("messages").locator("img.att-image")
    expect(picture).to_be_visible()
    assert picture.get_attribute("src").startswith(f"{media_origin}/desktop/files/")
    admin_page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=picture.element_handle()
    )
    screenshot(admin_page, "upload_xss_04_media_origin")
    link = admin_page.get_by_test_id("messages").locator("a.att-file", has_text="photo.html")
    file_url = link.get_attribute("href")
    assert file_url.startswith(f"{media_origin}/desktop/files/")
    assert open_as_the_admin_would(admin_page, file_url) == "downloaded"
    assert admin_page.title() != "ran"
    cookies = {r.url: "cookie" in r.all_headers() for r in requests}
    on_media_origin = [sent for url, sent in cookies.items() if url.startswith(media_origin)]
    assert on_media_origin and not any(on_media_origin)
    assert cookies[f"{live_server.url}/desktop/contacts/{customer.pk}/"]  # the app's own: sent
