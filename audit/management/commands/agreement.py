"""``manage.py agreement``: agreement coefficients for a CSV of ratings, as JSON on stdout.

    python manage.py agreement --input FILE.csv [--categories 0,1,2] [--bootstrap N]
                               [--seed S] --format json

Input: a CSV with header ``item,coder,value`` and an optional ``dimension`` column; an
empty value is a missing rating. ``--categories`` is the ordered category list; by
default the sorted distinct values (numeric order when every value is a number).
Output: ``{"dimensions": {"<dimension or _all>": {...}}}`` (dimensions in natural order,
D2 before D10), each entry as documented in
``audit.stats.agreement.agreement_report``. ``--bootstrap 0`` gives null for every CI.
Bad input exits with status 1 and one line on stderr.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from audit.stats.agreement import agreement_reports

REQUIRED = ("item", "coder", "value")
ALL_DIMENSIONS = "_all"

RawRating = tuple[str, str, str | None, int]  # item, coder, raw value, line number


class Command(BaseCommand):
    help = "Inter-coder agreement (kappa, alpha, AC1, ...) with bootstrap CIs for a ratings CSV."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True, metavar="FILE.csv")
        parser.add_argument(
            "--categories", default=None, help="ordered categories, comma-separated, e.g. 0,1,2"
        )
        parser.add_argument("--bootstrap", type=int, default=1000, metavar="N")
        parser.add_argument("--seed", type=int, default=0, metavar="S")
        parser.add_argument("--format", choices=["json"], default="json")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap must be 0 or more")
        raw = read_ratings(Path(options["input"]))
        categories, as_category = resolve_categories(options["categories"], raw)
        dimensions = {
            name: [(item, coder, as_category(value, line)) for item, coder, value, line in rows]
            for name, rows in sorted(raw.items(), key=lambda pair: _natural_key(pair[0]))
        }
        try:
            report = agreement_reports(
                dimensions, categories, n_boot=options["bootstrap"], seed=options["seed"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(json.dumps(report, allow_nan=False))


def _natural_key(name: str) -> list[Any]:
    """D2 before D10."""
    return [
        (0, int(part), "") if part.isdecimal() else (1, 0, part)
        for part in re.split(r"(\d+)", name)
    ]


def read_ratings(path: Path) -> dict[str, list[RawRating]]:
    """Rows grouped by dimension; errors as CommandError."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return _parse(csv.reader(handle))
    except OSError as error:
        raise CommandError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandError(f"cannot read {path}: it is not UTF-8 text") from None
    except csv.Error as error:
        raise CommandError(f"{path} is not valid CSV: {error}") from None


def _parse(reader: Any) -> dict[str, list[RawRating]]:
    header = next(reader, None)
    if header is None:
        raise CommandError("the input file is empty")
    columns = [name.strip().lower() for name in header]
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise CommandError(
            f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)} "
            "(the header must include item,coder,value)"
        )
    index = {name: columns.index(name) for name in (*REQUIRED, "dimension") if name in columns}
    groups: dict[str, list[RawRating]] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise CommandError(f"line {line}: expected {len(columns)} fields, found {len(row)}")
        item, coder = row[index["item"]].strip(), row[index["coder"]].strip()
        if not item or not coder:
            raise CommandError(f"line {line}: item and coder must not be empty")
        dimension = row[index["dimension"]].strip() if "dimension" in index else ALL_DIMENSIONS
        if not dimension:
            raise CommandError(f"line {line}: dimension must not be empty")
        value = row[index["value"]].strip() or None
        groups.setdefault(dimension, []).append((item, coder, value, line))
    if not groups:
        raise CommandError("the input file has a header but no ratings")
    return groups


def _number(text: str) -> int | float | None:
    """The number a CSV cell spells (1 and 1.0 are the same category), or None."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() else number


def resolve_categories(declared: str | None, raw: dict[str, list[RawRating]]) -> tuple[list, Any]:
    """The ordered categories and a function mapping a raw cell to its category (or None)."""
    values = {value for rows in raw.values() for _, _, value, _ in rows if value is not None}
    if declared is not None:
        tokens = [token.strip() for token in declared.split(",")]
        if not tokens or any(not token for token in tokens):
            raise CommandError("--categories must be a comma-separated list with no empty entry")
    else:
        if not values:
            raise CommandError("every value is missing; pass --categories to declare them")
        tokens = list(values)
    numbers = [_number(token) for token in tokens]
    numeric = all(number is not None for number in numbers)
    if declared is None:
        categories = sorted(numbers) if numeric else sorted(tokens)
    else:
        categories = numbers if numeric else tokens
    if len(set(categories)) != len(categories):
        raise CommandError("--categories lists the same category twice")
    known = set(categories)
    shown = ", ".join(map(str, categories))

    def as_category(value: str | None, line: int) -> Any:
        if value is None:
            return None
        category = _number(value) if numeric else value
        if category is None or category not in known:
            raise CommandError(f"line {line}: value {value!r} is not one of the categories {shown}")
        return category

    return categories, as_category
