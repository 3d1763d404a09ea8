"""The blinding check's computation (pure): grouped CV, permutation p, anonymous n-grams."""

import json
import random

import numpy as np
import pytest

from audit.blinding_check import _features, _folds, blinding_check, plan_fields

pytestmark = pytest.mark.usefixtures("celery_eager")  # tasks run in-process

FILLER = [
    "plan", "the", "work", "check", "the", "result", "keep", "it", "small", "ask", "what",
    "matters", "then", "write", "it", "down",
]  # fmt: skip


def corpus(leak: bool, n_prompts: int = 8, seed: int = 0):
    """Two models x two scaffolds x prompts; model B says "kestrel" when ``leak``."""
    rng = random.Random(seed)
    texts, models, scaffolds, prompts = [], [], [], []
    for p in range(n_prompts):
        for model in ("alpha-model", "beta-model"):
            for scaffold in ("S1", "S2"):
                words = rng.sample(FILLER, 9) + [f"topic{p}"]
                if leak and model == "beta-model":
                    words.insert(rng.randrange(len(words)), "kestrel")
                texts.append(" ".join(words))
                models.append(model)
                scaffolds.append(scaffold)
                prompts.append(f"P{p}")
    return texts, {"model": models, "scaffold": scaffolds}, prompts


def test_a_leak_is_found_and_named_without_its_condition():
    texts, fields, groups = corpus(leak=True)
    result = blinding_check(texts, fields, groups, permutations=19, seed=1)
    model = next(f for f in result.fields if f.field == "model")
    scaffold = next(f for f in result.fields if f.field == "scaffold")
    assert model.accuracy > 0.9 and model.chance == 0.5
    assert model.p_value == pytest.approx(1 / 20)
    assert model.word_ngrams[0] == "kestrel"
    assert scaffold.p_value > 0.05
    # No condition value anywhere in what the lead is shown.
    shown = json.dumps(result.as_dict())
    for label in ("alpha-model", "beta-model", "S1", "S2"):
        assert label not in shown


def test_field_planning_skips_what_cannot_be_tested():
    groups = ["P1", "P1", "P2", "P2", "P3", "P3"]
    fields = {
        "model": ["a", "b", "a", "b", "a", "b"],
        "endpoint": ["x", "y", "x", "y", "x", "y"],  # the same grouping as model
        "replicate": ["1"] * 6,
        "item_id": ["1", "2", "3", "4", "5", "6"],
        "specification": ["full", "full", "under", "under", "full", "full"],  # per prompt
    }
    results, testable = plan_fields(fields, groups)
    assert testable == ["model"]
    by_name = {r.field: r for r in results}
    assert by_name["model"].aliases == ["endpoint"]
    assert (by_name["replicate"].skipped, by_name["item_id"].skipped) == ("constant", "id")
    assert by_name["specification"].skipped == "prompt"


def test_folds_never_split_a_prompt():
    texts, _, groups = corpus(leak=False, n_prompts=10)
    x, *_ = _features(texts)
    for fold in _folds(x, groups, 5):
        train = {groups[i] for i in fold.train}
        assert train.isdisjoint(groups[i] for i in fold.test)


def test_span_solution_predicts_as_a_fit_on_all_ngrams():
    """The representer-theorem shortcut gives the fit scikit-learn gets on every n-gram."""
    from sklearn.linear_model import LogisticRegression

    texts, fields, groups = corpus(leak=True, seed=3)
    y = np.asarray(fields["model"])
    x, *_ = _features(texts)
    for fold in _folds(x, groups, 4):
        direct = LogisticRegression(tol=1e-10, max_iter=5000).fit(x[fold.train], y[fold.train])
        span = LogisticRegression(tol=1e-10, max_iter=5000).fit(fold.z_train, y[fold.train])
        assert np.allclose(
            direct.decision_function(x[fold.test]), span.decision_function(fold.z_test), atol=1e-4
        )


def test_progress_is_reported_and_reaches_one():
    texts, fields, groups = corpus(leak=False, n_prompts=4)
    seen = []
    blinding_check(texts, fields, groups, permutations=9, progress=lambda f, s: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_too_few_prompts_is_explained_not_crashed():
    result = blinding_check(["a b", "c d", "e f"], {"model": ["x", "y", "x"]}, ["P", "P", "P"])
    assert result.fields[0].accuracy is None and result.fields[0].note
