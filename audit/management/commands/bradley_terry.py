"""`python manage.py bradley_terry --input FILE.csv [--bootstrap N] [--seed S] --format json`.

Bradley-Terry rankings (issue 19): maximum-likelihood log-abilities overall and per harness
configuration, standard errors, seeded bootstrap intervals and the rank flips between
configurations. See audit/stats/bradley_terry.py. Bad input exits 1 with a one-line error.
"""

from __future__ import annotations

from typing import Any

from audit.management.csv_command import CsvJsonCommand
from audit.stats.bradley_terry import BT_COLUMNS, MAX_BOOTSTRAP, bradley_terry, read_bt_csv


def _bounded(name: str, low: int, high: int):
    def parse(text: str) -> int:
        text = text.strip()
        if not text.isdecimal() or len(text) > 12 or not low <= int(text) <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high:,}")
        return int(text)

    parse.__name__ = name  # argparse names the option in its error message
    return parse


class Command(CsvJsonCommand):
    help = "Bradley-Terry rankings with bootstrap intervals from winner,loser[,count] CSV."
    columns = BT_COLUMNS
    read = staticmethod(read_bt_csv)
    analyse = staticmethod(bradley_terry)

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--bootstrap",
            type=_bounded("--bootstrap", 0, MAX_BOOTSTRAP),
            default=0,
            help="Bootstrap draws for 95%% intervals (0 = none).",
        )
        parser.add_argument(
            "--seed", type=_bounded("--seed", 0, 2**32 - 1), default=None, help="Random seed."
        )

    def run_analysis(self, analyse, rows: Any, options: dict) -> dict:
        return analyse(rows, options["bootstrap"], options["seed"])
