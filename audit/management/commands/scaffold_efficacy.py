"""`python manage.py scaffold_efficacy --input FILE.csv --format json` (issue 8, item 3).

Reads reconciled scores with their unblinded conditions
(`model,scaffold,prompt,specification,dimension,value`) and prints one-way ANOVA and
Kruskal-Wallis per model x dimension (Holm-adjusted), under-specified-only means and the
Type II model x scaffold ANOVA per dimension. Bad input exits 1 with a one-line error.
"""

from __future__ import annotations

from audit.management.csv_command import CsvJsonCommand
from audit.stats.anova import EFFICACY_COLUMNS, read_efficacy_csv, scaffold_efficacy


class Command(CsvJsonCommand):
    help = "Scaffold efficacy statistics from a CSV of reconciled scores, as JSON."
    columns = EFFICACY_COLUMNS
    read = staticmethod(read_efficacy_csv)
    analyse = staticmethod(scaffold_efficacy)
