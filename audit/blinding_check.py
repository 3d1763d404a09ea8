"""Blinding check: can a classifier tell the hidden condition from what coders read?

Pure computation (no Django; scikit-learn imported inside the function that uses it).
For each hidden field (model, scaffold, ...), a logistic regression on word (1-2) and
character (3-5, within words) tf-idf n-grams predicts the field from the coder-visible
text, cross-validated with folds grouped by prompt (GroupKFold), so it cannot win by
recognising a prompt it has seen. It reports

- accuracy against chance (the majority-class rate, what always guessing the most
  common condition would score);
- a permutation p-value: the same cross-validation with the labels shuffled among the
  items of each prompt, ``(1 + #{shuffled accuracy >= observed}) / (1 + permutations)``
  (Ojala & Garriga 2010, "Permutation tests for studying classifier performance",
  JMLR 11:1833-1863, test 1; the +1 form is Phipson & Smyth 2010, SAGMB 9:39);
- the most predictive n-grams, by weight, WITHOUT the condition each one points to, so
  a lead who reconciles can read the report and stay blind.

Speed: tf-idf is fitted once on all texts (it uses no labels). With far fewer items than
n-grams, an L2-penalised logistic regression's weights lie in the span of the training
rows (representer theorem), so each fold is solved exactly in that span: with
``K = X_tr X_tr^T = U diag(l) U^T``, train on ``U sqrt(l)`` and test on
``X_te X_tr^T U / sqrt(l)``. That turns a fit on ~10^4 sparse columns into one on ~10^2
dense ones, and each permutation only refits.

What it cannot say: a scaffold that changes behaviour is predictable by design (that is
the effect coders are measuring). The n-grams let the lead judge whether the signal is
behaviour or a leak (a name, an echoed instruction, a redaction marker).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

MAX_FIELDS = 6
MAX_FOLDS = 5
TOP_NGRAMS = 12
C = 1.0  # sklearn's default regularisation; no tuning (tuning would need nested CV)
# Same objective as the default lbfgs; several times faster on these small dense fits.
SOLVER = "newton-cg"
# Sequential stopping (Besag & Clifford 1991, Biometrika 78:301-304): once this many
# shuffled accuracies reach the observed one the p-value is h/l and more permutations
# cannot make the field significant, so a field at chance costs ~h/p permutations.
STOP_AFTER = 10


@dataclass
class FieldResult:
    field: str
    aliases: list[str] = field(default_factory=list)  # fields that group items identically
    n: int = 0
    classes: int = 0
    chance: float | None = None
    accuracy: float | None = None
    p_value: float | None = None
    permutations: int = 0
    word_ngrams: list[str] = field(default_factory=list)
    char_ngrams: list[str] = field(default_factory=list)
    note: str = ""
    skipped: str = ""  # "", or why not tested: constant | id | prompt | limit | groups

    @property
    def tested(self) -> bool:
        return self.accuracy is not None


@dataclass
class CheckResult:
    n_items: int
    n_groups: int
    folds: int
    fields: list[FieldResult]
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


Progress = Callable[[float, str], None]


def _partition(values: Sequence[str]) -> tuple:
    """A canonical form of the grouping a field makes (labels renamed by first use)."""
    seen: dict[str, int] = {}
    return tuple(seen.setdefault(v, len(seen)) for v in values)


def plan_fields(
    fields: dict[str, Sequence[str | None]], groups: Sequence[str]
) -> tuple[list[FieldResult], list[str]]:
    """Which fields to test: (all results, with notes for those skipped; names to test).

    Skipped: fewer than two conditions, one condition per item (an id), fixed by the
    prompt (folds grouped by prompt cannot test it), or the same grouping as a field
    already listed (reported as its alias)."""
    n = len(groups)
    results: list[FieldResult] = []
    testable: list[str] = []
    partitions: dict[tuple, FieldResult] = {}
    for name, raw in fields.items():
        values = ["" if v is None else str(v) for v in raw]
        counts = Counter(values)
        result = FieldResult(field=name, n=n, classes=len(counts))
        if len(counts) < 2:
            result.note, result.skipped = (
                "One value for every item: nothing to predict.",
                "constant",
            )
        elif len(counts) > n / 2:
            result.note, result.skipped = "Nearly one value per item (an id).", "id"
        elif all(len(set(vs)) == 1 for vs in _by_group(values, groups).values()):
            result.note = "Fixed by the prompt: prompt-grouped folds cannot test it."
            result.skipped = "prompt"
        else:
            key = _partition(values)
            if key in partitions:
                partitions[key].aliases.append(name)
                continue
            partitions[key] = result
            if len(testable) >= MAX_FIELDS:
                result.note = f"Only the first {MAX_FIELDS} condition fields are tested."
                result.skipped = "limit"
            else:
                testable.append(name)
                result.chance = counts.most_common(1)[0][1] / n
        results.append(result)
    return results, testable


def _by_group(values: Sequence[str], groups: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for value, group in zip(values, groups, strict=True):
        out[group].append(value)
    return out


def _features(texts: Sequence[str]):
    """Word 1-2-gram and character 3-5-gram tf-idf (sparse) and the n-gram names."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer

    min_df = 2 if len(texts) >= 20 else 1
    word = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=min_df, sublinear_tf=True)
    xw = word.fit_transform(texts)
    xc = char.fit_transform(texts)
    names_w = list(word.get_feature_names_out())
    names_c = list(char.get_feature_names_out())
    return hstack([xw, xc]).tocsr(), names_w, names_c


def _span_basis(gram: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors and eigenvalues of a Gram matrix, dropping the null space."""
    values, vectors = np.linalg.eigh(gram)
    keep = values > max(values.max(), 1e-12) * 1e-10
    return vectors[:, keep], values[keep]


@dataclass
class _Fold:
    train: np.ndarray
    test: np.ndarray
    z_train: np.ndarray
    z_test: np.ndarray


def _folds(x, groups: Sequence[str], n_splits: int) -> list[_Fold]:
    from sklearn.model_selection import GroupKFold

    gram = (x @ x.T).toarray()
    folds = []
    splitter = GroupKFold(n_splits=n_splits)
    for train, test in splitter.split(np.zeros(len(groups)), groups=list(groups)):
        u, lam = _span_basis(gram[np.ix_(train, train)])
        root = np.sqrt(lam)
        z_train = u * root
        z_test = gram[np.ix_(test, train)] @ u / root
        folds.append(_Fold(train, test, z_train, z_test))
    return folds


def _cv_accuracy(y: np.ndarray, folds: list[_Fold]) -> float:
    from sklearn.linear_model import LogisticRegression

    correct = 0
    total = 0
    for fold in folds:
        y_train = y[fold.train]
        y_test = y[fold.test]
        if len(np.unique(y_train)) < 2:
            predicted = np.full(len(y_test), y_train[0])
        else:
            model = LogisticRegression(C=C, solver=SOLVER, max_iter=500)
            model.fit(fold.z_train, y_train)
            predicted = model.predict(fold.z_test)
        correct += int((predicted == y_test).sum())
        total += len(y_test)
    return correct / total


def _shuffle_within(y: np.ndarray, members: list[np.ndarray], rng: np.random.Generator):
    shuffled = y.copy()
    for idx in members:
        shuffled[idx] = y[rng.permutation(idx)]
    return shuffled


def _top_ngrams(x, y: np.ndarray, names_w: list[str], names_c: list[str], top: int):
    """N-grams with the largest weight (any class) in a fit on all items; no classes."""
    from sklearn.linear_model import LogisticRegression

    gram = (x @ x.T).toarray()
    u, lam = _span_basis(gram)
    model = LogisticRegression(C=C, solver=SOLVER, max_iter=1000).fit(u * np.sqrt(lam), y)
    # Back to n-gram weights: w = X^T U diag(1/sqrt(l)) beta (see the module docstring).
    weights = x.T @ (u / np.sqrt(lam) @ model.coef_.T)
    strength = np.abs(np.asarray(weights)).max(axis=1)
    n_word = len(names_w)
    order = np.argsort(-strength, kind="stable")
    word, char = [], []
    for index in order:
        if strength[index] <= 0:
            break
        if index < n_word and len(word) < top:
            word.append(names_w[index])
        elif index >= n_word and len(char) < top:
            char.append(names_c[index - n_word])
        if len(word) >= top and len(char) >= top:
            break
    return word, char


def blinding_check(
    texts: Sequence[str],
    fields: dict[str, Sequence[str | None]],
    groups: Sequence[str],
    *,
    permutations: int = 99,
    seed: int = 0,
    top: int = TOP_NGRAMS,
    progress: Progress | None = None,
) -> CheckResult:
    """Predict each hidden field from ``texts`` with prompt-grouped CV (module docstring).

    ``fields``: field name -> one value per text; ``groups``: the prompt of each text.
    """
    from threadpoolctl import threadpool_limits

    # One BLAS thread: the matrices are tiny, and more threads only contend (2-core hosts).
    with threadpool_limits(limits=1):
        return _check(texts, fields, groups, permutations, seed, top, progress)


def _check(texts, fields, groups, permutations, seed, top, progress) -> CheckResult:
    started = time.perf_counter()
    report = progress or (lambda fraction, stage: None)
    n = len(texts)
    results, testable = plan_fields(fields, groups)
    n_groups = len(set(groups))
    n_splits = min(MAX_FOLDS, n_groups)
    check = CheckResult(n_items=n, n_groups=n_groups, folds=n_splits, fields=results)
    if not testable or n_splits < 2:
        for result in results:
            if result.field in testable:
                result.note = "Needs items from at least two prompts."
                result.skipped, result.chance = "groups", None
        check.seconds = time.perf_counter() - started
        return check
    report(0.02, "Extracting word and character n-grams")
    x, names_w, names_c = _features(texts)
    folds = _folds(x, groups, n_splits)
    members = [np.flatnonzero(np.asarray(groups) == g) for g in sorted(set(groups))]
    rng = np.random.default_rng(seed)
    by_name = {r.field: r for r in results}
    steps = len(testable) * (permutations + 1)
    done = 0
    for name in testable:
        result = by_name[name]
        y = np.asarray(["" if v is None else str(v) for v in fields[name]])
        report(0.05 + 0.9 * done / steps, f"Cross-validating {name}")
        result.accuracy = _cv_accuracy(y, folds)
        done += 1
        beaten = ran = 0
        while ran < permutations and beaten < STOP_AFTER:
            if _cv_accuracy(_shuffle_within(y, members, rng), folds) >= result.accuracy:
                beaten += 1
            ran += 1
            done += 1
            if ran % 10 == 0:
                report(0.05 + 0.9 * done / steps, f"Permutation test for {name}")
        done += permutations - ran
        result.permutations = ran
        # Besag-Clifford h/l when stopped early, else (1 + b) / (1 + m).
        result.p_value = beaten / ran if beaten >= STOP_AFTER else (1 + beaten) / (1 + ran)
        result.word_ngrams, result.char_ngrams = _top_ngrams(x, y, names_w, names_c, top)
    report(1.0, "Done")
    check.seconds = time.perf_counter() - started
    return check
