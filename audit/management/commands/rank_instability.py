"""`python manage.py rank_instability --input FILE.csv --format json` (issue 8, item 5).

Reads evaluation results produced elsewhere (`config,model,benchmark,score`, higher is
better) and prints, per benchmark, pairwise verdict disagreement across configurations,
strict reversals with a witness, the rank-flip rate, each model's rank envelope and
Kendall's tau between configurations. Bad input exits 1 with a one-line error.
"""

from __future__ import annotations

from audit.management.csv_command import CsvJsonCommand
from audit.stats.instability import RANK_COLUMNS, rank_instability, read_rank_csv


class Command(CsvJsonCommand):
    help = "Configuration-conditional rank instability from a CSV of scores, as JSON."
    columns = RANK_COLUMNS
    read = staticmethod(read_rank_csv)
    analyse = staticmethod(rank_instability)
