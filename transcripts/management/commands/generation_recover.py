"""``manage.py generation_recover``: after a restart, running runs go on where they stopped.

``make run`` calls it before it starts its worker, with ``--expire-leases`` (no worker of
the previous stack survives, so their claimed cells can be taken again at once). With
several long-lived workers (production) leave the flag off: leases expire on their own.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from transcripts.recovery import runs_recover


class Command(BaseCommand):
    help = "Dispatch every running generation run again (after a restart or a crash)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--expire-leases",
            action="store_true",
            help="No worker from before is alive: reclaim their claimed cells now.",
        )

    def handle(self, *args, **options) -> None:
        count = runs_recover(expire_leases=options["expire_leases"])
        if count:
            self.stdout.write(f"Resumed {count} running generation run(s).")
