"""`python manage.py rank_instability --input FILE.csv --format json` (issue 8, item 5).

Reads evaluation results produced elsewhere (`config,model,benchmark,score`, higher is
better) and prints, per benchmark, pairwise verdict disagreement across configurations,
strict reversals with a witness, the rank-flip rate, each model's rank envelope and
Kendall's tau between configurations. Bad input exits 1 with a one-line error.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from audit.management.commands.scaffold_efficacy import one_line
from audit.stats.instability import RANK_COLUMNS, rank_instability, read_rank_csv


class Command(BaseCommand):
    help = "Configuration-conditional rank instability from a CSV of scores, as JSON."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--input", required=True, help=f"CSV ({','.join(RANK_COLUMNS)}); '-' for stdin."
        )
        parser.add_argument("--format", choices=["json"], default="json", help="Output format.")

    def handle(self, *args, **options) -> None:
        path = options["input"]
        try:
            if path == "-":
                rows = read_rank_csv(sys.stdin)
            else:
                with open(path, encoding="utf-8-sig", newline="") as stream:
                    rows = read_rank_csv(stream)
            result = rank_instability(rows)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {one_line(exc.strerror or exc)}")
        except ValueError as exc:
            raise CommandError(f"{path}: {one_line(exc)}")
        self.stdout.write(json.dumps(result, indent=2, allow_nan=False))
