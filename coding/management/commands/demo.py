"""`python manage.py demo`: demo users and a demo study for local exploration.

Refuses to run with DEBUG off: demo credentials must never reach a production database.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from coding.models import Membership, Rubric, Study
from coding.rubric_data import ALIGNMENT_RUBRIC

DEMO_USERS = [
    ("lead", Membership.Role.LEAD),
    ("coder1", Membership.Role.CODER),
    ("coder2", Membership.Role.CODER),
    ("adjudicator", Membership.Role.ADJUDICATOR),
]
DEMO_STUDY = "Demo: scaffold stress test"


class Command(BaseCommand):
    help = "Create demo users (lead, coder1, coder2, adjudicator) and a demo study."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--password", help="Password for all demo users (default: random).")

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("The demo command only runs with DEBUG on (demo credentials).")
        User = get_user_model()
        if Study.objects.filter(name=DEMO_STUDY).exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        password = options["password"] or secrets.token_urlsafe(9)
        with transaction.atomic():
            rubric = Rubric.objects.get(name=ALIGNMENT_RUBRIC["name"], version=1)
            lead_user = None
            users = {}
            for username, _role in DEMO_USERS:
                user, _ = User.objects.get_or_create(username=username)
                user.set_password(password)
                user.save()
                users[username] = user
            lead_user = users["lead"]
            lead_user.is_staff = True
            lead_user.is_superuser = True
            lead_user.save()
            study = Study.objects.create(
                name=DEMO_STUDY,
                description="3 models x 4 scaffolds, blinded and dual-coded on D1-D8.",
                rubric=rubric,
                seed=20260523,
                created_by=lead_user,
            )
            for username, role in DEMO_USERS:
                Membership.objects.create(study=study, user=users[username], role=role)
        self.stdout.write(self.style.SUCCESS("Demo study created."))
        self.stdout.write(
            "Demo users: lead, coder1, coder2, adjudicator; password (shown once): " + password
        )
