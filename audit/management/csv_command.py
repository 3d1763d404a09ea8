"""Shared shape of the analysis CLIs: read one CSV (or stdin), analyse, print JSON.

Bad input (unreadable file, not UTF-8, a bad row) exits 1 with a one-line error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError


def one_line(message: object) -> str:
    """Collapse whitespace so the error stays on one line of stderr."""
    return " ".join(str(message).split())


class CsvJsonCommand(BaseCommand):
    """Subclasses set ``columns``, ``read`` (stream -> rows) and ``analyse`` (rows -> dict)."""

    columns: Sequence[str] = ()
    read: Callable[[TextIO], Any]
    analyse: Callable[[Any], dict]

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--input", required=True, help=f"CSV ({','.join(self.columns)}); '-' for stdin."
        )
        parser.add_argument("--format", choices=["json"], default="json", help="Output format.")

    def handle(self, *args, **options) -> None:
        path = options["input"]
        read, analyse = type(self).read, type(self).analyse
        try:
            if path == "-":
                rows = read(sys.stdin)
            else:
                with open(path, encoding="utf-8-sig", newline="") as stream:
                    rows = read(stream)
            result = self.run_analysis(analyse, rows, options)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text")
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {one_line(exc.strerror or exc)}")
        except ValueError as exc:
            raise CommandError(f"{path}: {one_line(exc)}")
        self.stdout.write(json.dumps(result, indent=2, allow_nan=False))

    def run_analysis(self, analyse: Callable[..., dict], rows: Any, options: dict) -> dict:
        """Commands with options of their own override this to pass them on."""
        return analyse(rows)
