"""Create a person who can log in: an admin of the builder, or an agent of some campaigns.

This is how a new installation gets its first admin; the Team page (/team/) does the rest.
"""

import getpass
import os

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from campaigns import team
from campaigns.models import Campaign


class Command(BaseCommand):
    help = (
        "Create a user who can log in. --role admin: builds campaigns and connects pages; "
        "--role agent: answers the contacts of the campaigns named with --campaign; --role "
        "supervisor: an agent who may also take conversations over in those campaigns. The "
        "password is asked for, or read from the environment variable named by --password-env."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=["admin", "supervisor", "agent"], required=True)
        parser.add_argument(
            "--campaign",
            action="append",
            default=[],
            metavar="NAME",
            help="A campaign the agent answers for (repeat for several).",
        )
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--password-env",
            metavar="VARIABLE",
            help="Read the password from this environment variable instead of asking.",
        )

    def handle(self, *args, username, role, campaign, password_env, **options):
        if User.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} exists already.")
        campaigns = self._campaigns(campaign)
        if role != "admin" and not campaigns:
            article = "An" if role == "agent" else "A"
            raise CommandError(f"{article} {role} needs at least one --campaign to answer for.")
        user = User(
            username=username,
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
        )
        password = self._password(password_env)
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        team.person_add(
            actor=None,
            username=username,
            email=user.email,
            first_name=user.first_name,
            last_name=user.last_name,
            role=role,
            campaigns=campaigns,
            password=password,
        )
        where = ", ".join(c.name for c in campaigns)
        self.stdout.write(
            self.style.SUCCESS(f"Created {role} {username}" + (f" for {where}." if where else "."))
        )

    def _campaigns(self, names):
        found = []
        for name in names:
            try:
                found.append(Campaign.objects.get(name=name))
            except Campaign.DoesNotExist:
                known = ", ".join(Campaign.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"No campaign named {name!r} (campaigns: {known}).") from None
            except Campaign.MultipleObjectsReturned:
                raise CommandError(f"Several campaigns are named {name!r}.") from None
        return found

    def _password(self, variable):
        if variable:
            password = os.environ.get(variable, "")
            if not password:
                raise CommandError(f"The environment variable {variable} is empty or not set.")
            return password
        first = getpass.getpass("Password: ")
        if first != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return first
