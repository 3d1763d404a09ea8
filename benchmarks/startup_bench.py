"""Start-up cost of management commands against the floor every process pays.

Issue 16 item 2: a command's CPU at start is within 1.5x of ``django.setup()`` + numpy +
scipy.stats. Each case runs in a fresh interpreter; its CPU time (user + system, from
``resource.getrusage(RUSAGE_CHILDREN)``) is measured around the child alone, so a busy
machine stretches wall time but hardly the figures. Cases are interleaved over several
rounds and the median is kept, with the baseline measured in the same run.

    python benchmarks/startup_bench.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.5
BASELINE = "import django; django.setup(); import numpy; import scipy.stats"
ALL_IMPORTS = (
    "import django; django.setup(); from django.urls import get_resolver; "
    "get_resolver().url_patterns"
)


def ratings_csv(path: Path) -> Path:
    """19 ratings: 7 items x 3 coders, two missing (the issue's small CSV)."""
    rows = ["item,coder,value"]
    values = [0, 1, 2, 1, 1, 2, 0, 0, 1, 2, 2, 2, 1, 0, 1, 1, 2, 2, 0]
    cells = [(f"i{i}", f"c{c}") for i in range(7) for c in range(3)][: len(values)]
    rows += [f"{item},{coder},{v}" for (item, coder), v in zip(cells, values, strict=True)]
    path.write_text("\n".join(rows) + "\n")
    return path


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User + system CPU of one child process run to completion."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cases(csv_path: Path) -> dict[str, list[str]]:
    py = sys.executable
    manage = [py, "manage.py"]
    return {
        "baseline: django.setup() + numpy + scipy.stats": [py, "-c", BASELINE],
        "django.setup() + all URLconfs and views": [py, "-c", ALL_IMPORTS],
        "manage.py agreement (19-row CSV)": [
            *manage,
            "agreement",
            "--input",
            str(csv_path),
            "--bootstrap",
            "0",
            "--format",
            "json",
        ],
        "manage.py g_study --help": [*manage, "g_study", "--help"],
        "manage.py check": [*manage, "check"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
    with tempfile.TemporaryDirectory() as tmp:
        runs = cases(ratings_csv(Path(tmp) / "ratings.csv"))
        for argv in runs.values():  # warm the OS file cache and .pyc files
            cpu_seconds(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, argv in runs.items():
                samples[name].append(cpu_seconds(argv, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    base_name = next(iter(medians))
    base = medians[base_name]
    print(f"Start-up CPU (user + system), median of {args.rounds} rounds; target <= {TARGET}x")
    print(f"{'case':52} {'CPU s':>7} {'ratio':>6}")
    worst = 0.0
    for name, cpu in medians.items():
        ratio = cpu / base
        mark = "" if name == base_name else ("  ok" if ratio <= TARGET else "  OVER")
        if name.startswith("manage.py"):
            worst = max(worst, ratio)
        print(f"{name:52} {cpu:7.2f} {ratio:5.2f}x{mark}")
    met = worst <= TARGET
    print(f"worst command ratio {worst:.2f}x: target {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
