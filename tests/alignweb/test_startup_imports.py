"""Pay only for what you use: loading Django and every URLconf imports no model SDK and
none of scipy, pandas or sklearn (issue 16 item 2). Each web process, command and worker
start would pay seconds of CPU for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("openai", "anthropic", "scipy", "pandas", "sklearn")
LOAD_URLS = (
    "import django; django.setup(); from django.urls import get_resolver; "
    "get_resolver().url_patterns; import sys, json; "
    f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
)


def heavy_modules_after(code: str) -> list[str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="alignweb.settings")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_loading_the_urls_imports_no_sdk_nor_scipy_pandas_sklearn():
    assert heavy_modules_after(LOAD_URLS) == []


def test_the_check_sees_a_module_level_sdk_import(tmp_path):
    """The check can fail: a URLconf importing anthropic at module level is caught."""
    module = tmp_path / "greedy_urls.py"
    module.write_text(
        "import anthropic  # noqa: F401\nfrom alignweb.urls import urlpatterns  # noqa: F401\n"
    )
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); " + LOAD_URLS.replace(
        "get_resolver()", "get_resolver('greedy_urls')"
    )
    assert heavy_modules_after(code) == ["anthropic"]
