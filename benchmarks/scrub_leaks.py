"""Leaks of the scrubber on the leak corpus (tests/coding/scrub_corpus.py), before/after.

    .venv/bin/python benchmarks/scrub_leaks.py [--baseline REF]

"after" is this checkout's scrubber as an import uses it (study names from the records'
metadata, system prompts as hidden text). "before" loads ``coding/blinding.py`` from git
REF (default: the commit before the scrubbing package existed) and scrubs the same
records the way that version's import did: the built-in rules plus a literal rule for
the names in the metadata. No database needed.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignweb.settings")
IDENTIFYING_KEYS = {"model", "endpoint", "provider", "vendor", "model_id", "served_model"}


def _seen(records: list[dict], scrub) -> dict[str, str]:
    """Record id -> the text a coder reads (user and assistant turns, scrubbed)."""
    return {
        r["id"]: "\n".join(scrub(m["content"]) for m in r["messages"] if m["role"] != "system")
        for r in records
    }


def _names(records: list[dict]) -> list[str]:
    return [str(v) for r in records for k, v in r.items() if k in IDENTIFYING_KEYS and v]


def before(records: list[dict], ref: str) -> dict[str, str]:
    source = subprocess.run(
        ["git", "show", f"{ref}:coding/blinding.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_blinding.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_blinding", path)
    old = importlib.util.module_from_spec(spec)
    sys.modules["old_blinding"] = old  # dataclasses look their module up there
    spec.loader.exec_module(old)
    rules = old.default_rules()
    study = old.literal_rule("study_model_name", _names(records))
    scrubber = old.Scrubber([study, *rules] if study else rules)
    return _seen(records, lambda text: scrubber.scrub(text)[0])


def after(records: list[dict]) -> dict[str, str]:
    from coding.scrubbing import build_scrubber

    hidden = {m["content"] for r in records for m in r["messages"] if m["role"] == "system"}
    scrubber = build_scrubber(study_names=_names(records), hidden_texts=hidden)
    return _seen(records, lambda text: scrubber.scrub(text)[0])


def report(label: str, leaks: dict[str, list[str]], n_cases: int, n_controls: int) -> None:
    cases = {k: v for k, v in leaks.items() if not k.startswith("control")}
    controls = {k: v for k, v in leaks.items() if k.startswith("control")}
    by_class = Counter(k.split(" ", 1)[1] for k in cases)
    print(
        f"{label}: {len(cases)} of {n_cases} cases leak; "
        f"{len(controls)} of {n_controls} controls changed"
    )
    for cls, n in sorted(by_class.items()):
        print(f"  {cls:16s} {n}")
    for key, found in sorted(leaks.items()):
        print(f"    {key}: {', '.join(found)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="65535d9", help="git ref of the old scrubber")
    args = parser.parse_args()
    from tests.coding.scrub_corpus import CASES, CONTROLS, case_records, corpus_leaks

    records = case_records()
    report(
        f"before ({args.baseline})",
        corpus_leaks(before(records, args.baseline)),
        len(CASES),
        len(CONTROLS),
    )
    report("after", corpus_leaks(after(records)), len(CASES), len(CONTROLS))


if __name__ == "__main__":
    main()
