"""The code version recorded in run cards and export provenance (one definition)."""

from __future__ import annotations

import subprocess
from typing import NamedTuple

from django.conf import settings


class CodeVersion(NamedTuple):
    commit: str  # a git commit, or "unknown"
    dirty: bool | None  # uncommitted changes to tracked files; None when not known


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=3,
        check=True,
    ).stdout


def code_version() -> CodeVersion:
    """settings.GIT_COMMIT (a built image says what it is), else the checkout's HEAD and
    whether tracked files changed; ("unknown", None) when neither can be read."""
    if getattr(settings, "GIT_COMMIT", ""):
        return CodeVersion(settings.GIT_COMMIT, None)
    try:
        commit = _git("rev-parse", "HEAD").strip()
        status = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return CodeVersion("unknown", None)
    return CodeVersion(commit or "unknown", bool(status.strip()))
