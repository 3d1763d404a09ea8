"""Optional ``--profile``: sample every gunicorn worker with py-spy and summarise hot spots.

py-spy is not a project dependency: ``.venv/bin/pip install py-spy`` first.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil
from stack import Managed


@dataclass
class Profile:
    procs: list[subprocess.Popen]
    outputs: list[Path]


def start_profile(web: Managed, seconds: float, out_dir: Path) -> Profile | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(exe).exists():
        print("profile: py-spy is not installed (.venv/bin/pip install py-spy); skipped")
        return None
    procs, outputs = [], []
    for child in psutil.Process(web.proc.pid).children():
        out = out_dir / f"pyspy-{child.pid}.txt"
        argv = [exe, "record", "--pid", str(child.pid), "--duration", str(int(seconds))]
        argv += ["--rate", "100", "--format", "raw", "--output", str(out), "--nonblocking"]
        procs.append(subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        outputs.append(out)
    return Profile(procs, outputs)


def _frames(stack: str) -> list[str]:
    return [frame for frame in stack.split(";") if frame]


def finish_profile(profile: Profile, top: int = 25) -> str:
    """Wait for py-spy, then list the functions with the most inclusive and self samples."""
    for proc in profile.procs:
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for path in profile.outputs:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            n = int(count)
            frames = _frames(stack)
            if not frames:
                continue
            total += n
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    if not total:
        return "profile: no samples"
    lines = [f"py-spy: {total} samples over {len(profile.outputs)} gunicorn workers"]
    lines.append("inclusive (project code and Django):")
    for frame, n in inclusive.most_common(400):
        if any(k in frame for k in ("/coding/", "/alignweb/", "/audit/", "django/")):
            lines.append(f"  {100 * n / total:5.1f} %  {frame}")
        if len(lines) > top + 2:
            break
    lines.append("self time:")
    for frame, n in own.most_common(top):
        lines.append(f"  {100 * n / total:5.1f} %  {frame}")
    return "\n".join(lines)
