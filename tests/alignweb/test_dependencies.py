"""The apps depend one way: transcripts -> coding <- audit, the demo on top of them all,
and alignweb (settings and wiring) imports none of them except in its URL lists (issue 17).

Read from the source (every import statement, including those inside functions), so a
late ``from audit.tasks import ...`` in coding fails here as surely as a top-level one.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# app -> apps it must never import
APPS = {"coding", "audit", "transcripts", "demo"}
FORBIDDEN = {
    "coding": {"audit", "transcripts", "demo"},
    "audit": {"transcripts", "demo"},
    "transcripts": {"demo"},  # the demo builds on every app; none builds on it
    "alignweb": APPS,
}
# URL lists wire the apps together.
ALLOWED = {Path("alignweb/urls.py"), Path("alignweb/api_urls.py")}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("app", sorted(FORBIDDEN))
def test_an_app_imports_no_app_that_builds_on_it(app):
    offenders = []
    for path in sorted((ROOT / app).rglob("*.py")):
        relative = path.relative_to(ROOT)
        if "migrations" in relative.parts or relative in ALLOWED:
            continue
        if bad := _imports(path) & FORBIDDEN[app]:
            offenders.append(f"{relative}: {', '.join(sorted(bad))}")
    assert offenders == []


def test_the_check_sees_late_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from audit.tasks import snapshot_request\n")
    assert "audit" in _imports(module)
