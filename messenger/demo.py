"""The kind's `seed_demo` hook: the demo campaign's Facebook Page, for `make run`."""

from messenger import setup
from messenger.health import connect_automatically
from messenger.sandbox.demo import DEMO_PAGE

DEMO_ENTRY_POINT_NAME = "Acme Support page"


def seed_demo(campaign, *, base_url="") -> str:
    """Once: the sandbox's page as an entry point of `campaign`, its credentials saved and its
    webhook made. Every time: its credentials checked with the (fake) Graph API and, with
    `base_url` (where the app runs), its webhook connected automatically, as Facebook would.
    Returns the console's line. Runs outside any transaction (it waits on the Graph API)."""
    entry_point = (
        campaign.entry_points.filter(kind=setup.KIND, is_archived=False).order_by("pk").first()
    )
    if entry_point is None:
        entry_point = setup.facebook_page_entry_point_create(
            campaign=campaign, name=DEMO_ENTRY_POINT_NAME
        )
    page = entry_point.facebook_page
    if not page.has_credentials:
        page.app_id = DEMO_PAGE["app_id"]
        page.set_secret("app_secret", DEMO_PAGE["app_secret"])
        page.set_secret("page_access_token", DEMO_PAGE["access_token"])
        page.save()
    if not page.has_webhook:
        setup.facebook_page_generate_webhook(page=page)

    check = setup.facebook_page_check_credentials(page=page)
    if check.ok and base_url and not page.webhook_verified_at:
        steps = connect_automatically(page, base_url.rstrip("/") + setup.webhook_path(page))
        if not all(step.ok for step in steps):
            check = setup.CredentialCheck(False, steps[-1].detail)
    status = "connected" if check.ok else f"not connected yet: {check.message}"
    return f"Demo Facebook Page (sandbox): {status}"
