"""``manage.py local_setup``: what ``make run`` does before its servers start, in one process.

Migrations, the demo data (first run only; later runs re-point the demo endpoints at the
offline model server's port), and recovery of generation runs a previous stack left
running. One process instead of three saves two Django start-ups on every ``make run``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Prepare the local stack of `make run`: migrate, demo data, resume running runs."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--demo", choices=["full", "users", "none"], default="full")
        parser.add_argument("--password", help="Password of the demo users (first run).")

    def handle(self, *args, **options) -> None:
        if not settings.LOCAL_MODE:
            raise CommandError("local_setup is for the local stack of `make run` (LOCAL_MODE=1).")
        call_command("migrate", interactive=False, verbosity=1, stdout=self.stdout)
        if options["demo"] != "none":
            demo = {"users_only": options["demo"] == "users"}
            if options["password"]:
                demo["password"] = options["password"]
            call_command("demo", stdout=self.stdout, **demo)
        # A stack stopped mid-run (Ctrl-C, crash, kill): its runs go on where they stopped.
        # No worker of the previous stack survives, so their claims can be taken now.
        call_command("generation_recover", expire_leases=True, stdout=self.stdout)
