"""Run ``manage.py <command> ...`` inside the test process.

The same path as the command line (``ManagementUtility`` -> ``run_from_argv``: argument
parsing, ``CommandError`` printed as one line on stderr, the exit status) without paying
a fresh interpreter and ``django.setup()`` per case. Each command keeps one subprocess
smoke test; error cases go through here.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from unittest import mock

from django.core.management import ManagementUtility


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str


def manage(*argv: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    # run_from_argv closes every connection when done; inside a test transaction that
    # would break the test's own connection.
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        mock.patch("django.core.management.base.connections.close_all"),
    ):
        try:
            ManagementUtility(["manage.py", *argv]).execute()
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Result(code, out.getvalue(), err.getvalue())
