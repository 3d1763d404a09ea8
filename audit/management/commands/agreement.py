"""``manage.py agreement``: agreement coefficients for a CSV of ratings, as JSON on stdout.

    python manage.py agreement --input FILE.csv [--categories 0,1,2] [--bootstrap N]
                               [--seed S] --format json

Input: a CSV with header ``item,coder,value`` and an optional ``dimension`` column. An
empty value, ``NA`` (R's marker), ``N/A`` or ``NaN`` (any case) is a missing rating, unless
``--categories`` declares that word as a category. ``--categories`` is the ordered category
list; by default the sorted distinct values, in numeric order (``1`` and ``1.0`` are one
category). Values that mix numbers and text are refused unless ``--categories`` declares
the text ones: a stray word must not turn every number into a text label.
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


# Missing-value spellings of R (NA), pandas/numpy (NaN, nan) and spreadsheets (N/A).
MISSING_MARKERS = frozenset({"na", "n/a", "nan"})


def _number(text: str, line: int | None = None) -> int | float | None:
    """The number a CSV cell spells (1 and 1.0 are the same category), or None for text.

    An infinite value is refused: it is no category and no rating."""
    try:
        number = float(text)
    except ValueError:
        return None
    if not math.isfinite(number):
        where = f"line {line}: " if line is not None else ""
        raise CommandError(f"{where}value {text!r} is not a finite number")
    return int(number) if number.is_integer() else number


def _key(text: str, line: int | None = None) -> int | float | str:
    """What a cell or a declared category is compared by: its number, else its text."""
    number = _number(text, line)
    return text if number is None else number


def _declared(declared: str) -> list[int | float | str]:
    tokens = [token.strip() for token in declared.split(",")]
    if not tokens or any(not token for token in tokens):
        raise CommandError("--categories must be a comma-separated list with no empty entry")
    categories = [_key(token) for token in tokens]
    if len(set(categories)) != len(categories):
        raise CommandError("--categories lists the same category twice")
    return categories


def _mixed_error(numbers: dict, texts: dict) -> CommandError:
    """Name the first text value (by line) and show the --categories that would accept all."""
    text, line = min(texts.items(), key=lambda pair: pair[1])
    others = len(texts) - 1
    more = f" (and {others} other text value{'s' if others != 1 else ''})" if others else ""
    shown = ", ".join(map(str, sorted(numbers)[:5])) + (", ..." if len(numbers) > 5 else "")
    example = ",".join(map(str, [*sorted(numbers), *sorted(texts)]))
    if len(example) > 60 or any("," in t for t in texts):
        example = "0,1,2,unsure"
    return CommandError(
        f"values mix numbers ({shown}) and text: {text!r} on line {line}{more}. Leave a "
        "missing rating empty or write NA; to use text as a category, list every category "
        f"with --categories (e.g. --categories {example})"
    )


def resolve_categories(declared: str | None, raw: dict[str, list[RawRating]]) -> tuple[list, Any]:
    """The ordered categories and a function mapping a raw cell to its category (or None)."""
    categories = _declared(declared) if declared is not None else None
    # A declared category named NA stays a category.
    words = {c.casefold() for c in categories or [] if isinstance(c, str)}
    markers = MISSING_MARKERS - words

    def missing(value: str | None) -> bool:
        return value is None or value.casefold() in markers

    if categories is None:
        numbers: dict[int | float, int] = {}
        texts: dict[str, int] = {}
        for rows in raw.values():
            for _, _, value, line in rows:
                if missing(value):
                    continue
                key = _key(value, line)
                seen = texts if isinstance(key, str) else numbers
                seen.setdefault(key, line)
        if numbers and texts:
            raise _mixed_error(numbers, texts)
        if not numbers and not texts:
            raise CommandError("every value is missing; pass --categories to declare them")
        categories = sorted(numbers) if numbers else sorted(texts)
    known = set(categories)
    shown = ", ".join(map(str, categories))

    def as_category(value: str | None, line: int) -> Any:
        if missing(value):
            return None
        category = _key(value, line)
        if category not in known:
            raise CommandError(f"line {line}: value {value!r} is not one of the categories {shown}")
        return category

    return categories, as_category
