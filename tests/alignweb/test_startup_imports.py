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
LOADED = f"json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules))"


def test_loading_the_urls_imports_no_sdk_nor_scipy_pandas_sklearn(tmp_path):
    # The second URLconf proves the check can fail: a module-level `import anthropic` in
    # anything the URLs reach shows up in the same list.
    (tmp_path / "greedy_urls.py").write_text(
        "import anthropic  # noqa: F401\nfrom alignweb.urls import urlpatterns  # noqa: F401\n"
    )
    code = (
        "import json, sys; import django; django.setup(); "
        "from django.urls import get_resolver; get_resolver().url_patterns; "
        f"print({LOADED}); sys.path.insert(0, {str(tmp_path)!r}); "
        f"get_resolver('greedy_urls').url_patterns; print({LOADED})"
    )
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="alignweb.settings")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    all_urls, with_greedy_view = (json.loads(line) for line in done.stdout.split())
    assert all_urls == []
    assert with_greedy_view == ["anthropic"]
