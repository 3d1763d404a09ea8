"""`python manage.py scaffold_efficacy --input FILE.csv --format json` (issue 8, item 3).

Reads reconciled scores with their unblinded conditions
(`model,scaffold,prompt,specification,dimension,value`) and prints one-way ANOVA and
Kruskal-Wallis per model x dimension (Holm-adjusted), under-specified-only means and the
Type II model x scaffold ANOVA per dimension. Bad input exits 1 with a one-line error.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from audit.stats.anova import EFFICACY_COLUMNS, read_efficacy_csv, scaffold_efficacy


def one_line(message: object) -> str:
    """Collapse whitespace so the error stays on one line of stderr."""
    return " ".join(str(message).split())


class Command(BaseCommand):
    help = "Scaffold efficacy statistics from a CSV of reconciled scores, as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--input", required=True, help=f"CSV ({','.join(EFFICACY_COLUMNS)}); '-' for stdin."
        )
        parser.add_argument("--format", choices=["json"], default="json", help="Output format.")

    def handle(self, *args, **options) -> None:
        path = options["input"]
        try:
            if path == "-":
                rows = read_efficacy_csv(sys.stdin)
            else:
                with open(path, encoding="utf-8-sig", newline="") as stream:
                    rows = read_efficacy_csv(stream)
            result = scaffold_efficacy(rows)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {one_line(exc.strerror or exc)}")
        except ValueError as exc:
            raise CommandError(f"{path}: {one_line(exc)}")
        self.stdout.write(json.dumps(result, indent=2, allow_nan=False))
