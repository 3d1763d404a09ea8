"""`python manage.py g_study --input FILE.csv [--d-study 1,2,3,4,6,8] --format json`.

Generalizability theory (issue 19): per rubric dimension a one-facet G study (items x
coders, REML variance components, G and Phi, D-study projections), and across dimensions
the two-facet items x coders x dimensions study when every item has every dimension. See
audit/stats/gtheory.py for the model and the formulas. Bad input exits 1 with a one-line
error.
"""

from __future__ import annotations

from typing import Any

from audit.management.csv_command import CsvJsonCommand
from audit.stats.gtheory import DEFAULT_D_STUDY, G_COLUMNS, g_study, parse_d_study, read_g_csv


class Command(CsvJsonCommand):
    help = "G and D studies (generalizability theory) from item,coder,score[,dimension] CSV."
    columns = G_COLUMNS
    read = staticmethod(read_g_csv)
    analyse = staticmethod(g_study)

    def add_arguments(self, parser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--d-study",
            default=",".join(str(n) for n in DEFAULT_D_STUDY),
            help="Numbers of coders per item to project G and Phi for (default 1,2,3,4,6,8).",
        )

    def run_analysis(self, analyse, rows: Any, options: dict) -> dict:
        return analyse(rows, parse_d_study(options["d_study"]))
