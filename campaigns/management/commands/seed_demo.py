"""Demo data for `make run`: an admin, an agent, and a campaign with each kind's demo entry point
(the kinds' `seed_demo` hooks: Messenger's is the sandbox's page)."""

import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from campaigns.kinds import all_kinds
from campaigns.models import Campaign
from campaigns.roles import ADMIN_GROUP

DEMO_USERS = {
    "demo-admin": {"first_name": "Dana", "last_name": "Admin", "is_admin": True},
    "demo-agent": {"first_name": "Alex", "last_name": "Agent", "is_admin": False},
}


class Command(BaseCommand):
    help = "Create (once) the demo admin, demo agent and demo campaign; print the logins."

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="",
            help="Where the app runs (e.g. http://127.0.0.1:8000): the kinds connect their demo "
            "entry points to it (the sandbox connects the demo page's webhook, as Facebook would).",
        )

    def handle(self, *args, base_url, **options):
        passwords_file = Path(settings.VAR_DIR) / "demo-logins.txt"
        passwords = _read_passwords(passwords_file)
        with transaction.atomic():
            for username, profile in DEMO_USERS.items():
                passwords[username] = _ensure_user(username, profile, passwords.get(username))
            campaign = _ensure_demo_campaign()
        passwords_file.write_text("".join(f"{u} {p}\n" for u, p in passwords.items()))
        passwords_file.chmod(0o600)

        # Outside the transaction: a kind's hook may wait on its service (the Graph API).
        lines = [kind.hook("seed_demo")(campaign, base_url=base_url) for kind in _seeding_kinds()]
        self.stdout.write("")
        self.stdout.write("Demo logins (also in var/demo-logins.txt):")
        for username, password in passwords.items():
            self.stdout.write(f"  {username:<11} password: {password}")
        for line in lines:
            self.stdout.write(line)


def _seeding_kinds():
    return [kind for kind in all_kinds() if kind.has("seed_demo")]


def _read_passwords(path):
    if not path.exists():
        return {}
    return dict(line.split(" ", 1) for line in path.read_text().splitlines() if " " in line)


def _ensure_user(username, profile, known_password):
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": profile["first_name"], "last_name": profile["last_name"]},
    )
    password = known_password
    if created or not password or not user.check_password(password):
        password = secrets.token_urlsafe(9)
        user.set_password(password)
        user.save()
    if profile["is_admin"]:
        user.groups.add(Group.objects.get_or_create(name=ADMIN_GROUP)[0])
    return password


def _ensure_demo_campaign():
    campaign, _ = Campaign.objects.get_or_create(
        name="Demo campaign",
        defaults={"description": "Customers of the sandbox's Acme Support page."},
    )
    campaign.agents.add(User.objects.get(username="demo-agent"))
    return campaign
