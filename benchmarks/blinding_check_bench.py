"""Blinding check on the demo scaffold stress test: speed, and accuracies before/after.

Target (issue 13): 180 items in under 10 s. Builds the demo grid (3 fake models x 4
scaffolds x 15 prompts) through the offline fake server and ``run_to_study``, then:

1. Speed: ``audit.blinding_check.blinding_check`` (99 permutations) on the study's
   coder-visible text, wall and CPU time. Baseline measured in the same run: the
   textbook scikit-learn route, ``permutation_test_score`` over a Pipeline that
   re-fits both tf-idf vectorisers and the logistic regression on every fold (same
   features, same GroupKFold), with 1 permutation scaled linearly to 99.
2. Accuracy per hidden field, three ways: the text as the old scrubber left it
   (``coding/blinding.py`` at --baseline, applied to the raw transcripts the way its
   import did), as this scrubber leaves it, and after adding the phrase rules a lead
   would add from the check's n-grams (the three models' stock openers).

    .venv/bin/python benchmarks/blinding_check_bench.py [--baseline REF]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _django

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0
BASELINE_PERMUTATIONS = 1
LEAD_PHRASES = ["Sure", "Happy to help with this", "Here's what I'd suggest"]


def old_scrubber(ref: str, names: list[str]):
    import importlib.util

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
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_blinding"] = module
    spec.loader.exec_module(module)
    rules = module.default_rules()
    study = module.literal_rule("study_model_name", names)
    return module.Scrubber([study, *rules] if study else rules)


def naive_seconds(texts, labels, groups) -> float:
    """The textbook route, per field: permutation_test_score over a full pipeline."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold, permutation_test_score
    from sklearn.pipeline import make_pipeline, make_union

    pipeline = make_pipeline(
        make_union(
            TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True),
        ),
        LogisticRegression(max_iter=500),
    )
    started = time.perf_counter()
    permutation_test_score(
        pipeline,
        texts,
        labels,
        groups=groups,
        cv=GroupKFold(n_splits=5),
        n_permutations=BASELINE_PERMUTATIONS,
        random_state=0,
    )
    return time.perf_counter() - started


def accuracies(texts, fields, groups, permutations: int = 99) -> dict[str, tuple]:
    from audit.blinding_check import blinding_check

    result = blinding_check(texts, fields, groups, permutations=permutations)
    return {
        f.field: (f.accuracy, f.chance, f.p_value, f.word_ngrams[:5])
        for f in result.fields
        if f.accuracy is not None
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default="65535d9", help="git ref of the old scrubber")
    args = parser.parse_args()
    label = _django.setup("alignweb_bench_blinding")
    from django.contrib.auth import get_user_model

    from audit.blinding_check import blinding_check
    from audit.selectors_blinding import blinding_inputs
    from coding.services import scrub_rule_add
    from demo.generation import generate_demo_run, run_to_study
    from transcripts.models import Transcript

    lead = get_user_model().objects.create_user(username="bench-lead")
    run = generate_demo_run(lead=lead, n_prompts=15)
    study = run_to_study(run=run, by=lead, name="Blinding bench", seed=20260523)
    inputs = blinding_inputs(study=study)
    n = len(inputs.texts)
    print(f"{label}: demo study with {n} items, {len(set(inputs.groups))} prompts")

    # 1. Speed.
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = blinding_check(inputs.texts, inputs.fields, inputs.groups, permutations=99)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    tested = [f for f in result.fields if f.accuracy is not None]
    naive = sum(
        naive_seconds(inputs.texts, inputs.fields[f.field], inputs.groups) for f in tested
    ) * ((99 + 1) / (BASELINE_PERMUTATIONS + 1))
    verdict = "meets" if wall < TARGET_SECONDS else "MISSES"
    print(
        f"blinding check: {wall:5.2f} s wall, {cpu:5.2f} s CPU for {n} items, "
        f"{len(tested)} fields x 99 permutations ({verdict} the {TARGET_SECONDS:.0f} s target)"
    )
    print(
        f"naive sklearn permutation_test_score (scaled to 99): {naive:6.1f} s  "
        f"-> {naive / wall:4.1f}x faster"
    )

    # 2. Accuracies before/after.
    cells = {
        t.item_id: t
        for t in Transcript.objects.filter(run=run).select_related("prompt", "endpoint")
    }
    from coding.models import Item

    items = list(Item.objects.filter(study=study).order_by("pk"))
    names = sorted(
        {t.endpoint.model for t in cells.values()}
        | {t.endpoint.name for t in cells.values()}
        | {str(t.provenance.get("served_model") or "") for t in cells.values()}
    )
    old = old_scrubber(args.baseline, [n for n in names if n])
    before_texts = [
        "\n".join(
            old.scrub(text)[0] for text in (cells[i.pk].prompt.text, cells[i.pk].response_text)
        )
        for i in items
    ]
    rows = {"before": accuracies(before_texts, inputs.fields, inputs.groups)}
    rows["after"] = accuracies(inputs.texts, inputs.fields, inputs.groups)
    for phrase in LEAD_PHRASES:
        scrub_rule_add(study=study, kind="phrase", text=phrase, by=lead)
    ruled = blinding_inputs(study=study)
    rows["after + lead rules"] = accuracies(ruled.texts, ruled.fields, ruled.groups)
    print("accuracy (chance) [p] per hidden field:")
    for stage, fields in rows.items():
        cells_text = "  ".join(
            f"{name} {acc:.2f} ({chance:.2f}) [p={p:.3f}]"
            for name, (acc, chance, p, _) in fields.items()
        )
        print(f"  {stage:20s} {cells_text}")
        for name, (*_, grams) in fields.items():
            print(f"  {'':20s}   {name} top n-grams: {', '.join(grams)}")


if __name__ == "__main__":
    main()
