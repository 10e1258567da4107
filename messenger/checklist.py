"""The setup checklist beside the health card: the admin's journey (shared/SETUP-JOURNEY.md),
each step ticked when the checks can see it done."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    title: str
    help: str
    state: str  # "done", "todo", or "info" (can't be seen from here)


def checklist(page, health):
    ok = {check.key for check in health.checks if check.state == "ok"}
    token_ok = "token" in ok

    def done(condition):
        return "done" if condition else "todo"

    return [
        Step(
            "Have a Facebook Page",
            "You must be an admin of the company's Facebook Page.",
            done(token_ok),
        ),
        Step(
            "Create an app in Facebook for Developers",
            "developers.facebook.com → My Apps → Create App. It gets an App ID.",
            done("app_secret" in ok),
        ),
        Step(
            "Add the Messenger product to the app",
            "In the app's dashboard, add Messenger.",
            done(token_ok),
        ),
        Step(
            "Connect the page and copy its Page Access Token",
            "Messenger → Settings → Access Tokens → Add or remove Pages, then Generate.",
            done(token_ok),
        ),
        Step(
            "Paste App ID, App Secret and Page Access Token here",
            "The App Secret is in Settings → Basic (Facebook asks for your password).",
            done(page.has_credentials),
        ),
        Step(
            "Press Get Webhook",
            "The Webhook URL and Verify Token appear at the top.",
            done(page.has_webhook),
        ),
        Step(
            "Give Facebook the Webhook URL and Verify Token",
            "Messenger → Settings → Webhooks → Add Callback URL, then Verify and save. "
            "Or press Connect automatically.",
            done(page.webhook_verified_at),
        ),
        Step(
            "Subscribe the page to messages, message_deliveries, message_reads and message_echoes",
            "Webhooks → Page subscriptions → Add subscriptions. Or press Connect automatically.",
            done("subscribed" in ok),
        ),
        Step(
            "While the app is in development mode, give testers a role",
            "Only people with a role on the app (App roles → Roles) can message and be "
            "answered until the app is live.",
            "info",
        ),
        Step(
            "Get pages_messaging approved and make the app Live",
            "App Review → request pages_messaging; once approved, switch the app to Live. "
            "Replies failing with 'app not live' point here.",
            "info",
        ),
    ]
