"""After the run: compare the database with what the simulated coders were told was saved.

Checks, for the load-test study:
- every item has exactly k assignments with k distinct coders, and never more than k
  submitted ones; items the run completed have exactly k distinct submitted assignments;
- every submit a coder saw confirmed (302) is in the database as a submitted assignment
  whose ``scores_sha256`` matches the values sent and whose Score rows hold those values
  exactly (no score lost, altered or half-written);
- submitted assignments nobody saw confirmed (a response cut by the stop) are counted;
- exactly one ``submit`` Event per submitted assignment (replays add none).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Integrity:
    items: int = 0
    items_completed: int = 0
    items_partial: int = 0
    bad_assignment_count: int = 0
    over_submitted: int = 0
    confirmed: int = 0
    duplicate_confirmations: int = 0
    missing: int = 0
    hash_mismatch: int = 0
    score_mismatch: int = 0
    unconfirmed_in_db: int = 0
    incomplete_scores: int = 0
    submitted_in_db: int = 0
    submit_events: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (
            self.bad_assignment_count
            or self.over_submitted
            or self.duplicate_confirmations
            or self.missing
            or self.hash_mismatch
            or self.score_mismatch
            or self.incomplete_scores
            or self.submit_events != self.submitted_in_db
        )

    def rows(self) -> list[tuple[str, str, str]]:
        """(check, value, expectation) rows for the printed table."""
        return [
            ("items in study", str(self.items), ""),
            ("items completed (k submitted)", str(self.items_completed), ""),
            ("items partly coded", str(self.items_partial), ""),
            ("items without exactly k distinct coders", str(self.bad_assignment_count), "0"),
            ("items with more than k submitted", str(self.over_submitted), "0"),
            ("submits confirmed to coders (302; API 200)", str(self.confirmed), ""),
            ("same item confirmed twice to one coder", str(self.duplicate_confirmations), "0"),
            ("confirmed but not submitted in DB (lost)", str(self.missing), "0"),
            ("confirmed with a different scores hash", str(self.hash_mismatch), "0"),
            ("confirmed with different Score rows", str(self.score_mismatch), "0"),
            ("submitted without all dimensions scored", str(self.incomplete_scores), "0"),
            ("submitted in DB but never confirmed", str(self.unconfirmed_in_db), "info"),
            (
                "submit Events / submitted assignments",
                f"{self.submit_events} / {self.submitted_in_db}",
                "equal",
            ),
        ]


def verify(*, study_id: int, k: int, submits: list[dict]) -> Integrity:
    """Check the database against the confirmed submits logged by the locust users."""
    from django.db.models import Count, Q

    from coding.models import Assignment, Event, Item, Score
    from coding.services.scoring import scores_sha256

    result = Integrity()
    submitted = Assignment.Status.SUBMITTED
    per_item = (
        Item.objects.filter(study_id=study_id)
        .annotate(
            n=Count("assignments"),
            coders=Count("assignments__coder", distinct=True),
            done=Count("assignments", filter=Q(assignments__status=submitted)),
        )
        .values_list("n", "coders", "done")
    )
    for n, coders, done in per_item.iterator(chunk_size=5000):
        result.items += 1
        if n != k or coders != k:
            result.bad_assignment_count += 1
        if done > k:
            result.over_submitted += 1
        elif done == k:
            result.items_completed += 1
        elif done:
            result.items_partial += 1

    rows = Assignment.objects.filter(item__study_id=study_id, status=submitted).values_list(
        "pk", "item__public_code", "coder__username", "scores_sha256"
    )
    db = {(code, user): (pk, digest) for pk, code, user, digest in rows.iterator(chunk_size=5000)}
    result.submitted_in_db = len(db)
    scores: dict[int, dict[str, tuple[int | None, str]]] = {}
    for assignment_id, code, value, rationale in (
        Score.objects.filter(assignment__item__study_id=study_id, assignment__status=submitted)
        .values_list("assignment_id", "dimension__code", "value", "rationale")
        .iterator(chunk_size=20000)
    ):
        scores.setdefault(assignment_id, {})[code] = (value, rationale)
    n_dims = max((len(v) for v in scores.values()), default=0)
    result.incomplete_scores = sum(
        1
        for pk, _digest in db.values()
        if len(scores.get(pk, {})) != n_dims
        or any(v is None for v, _ in scores.get(pk, {}).values())
    )

    seen: set[tuple[str, str]] = set()
    for record in submits:
        key = (record["item"], record["coder"])
        result.confirmed += 1
        if key in seen:
            result.duplicate_confirmations += 1
            continue
        seen.add(key)
        if key not in db:
            result.missing += 1
            _note(result, f"lost: item {key[0]} coder {key[1]}")
            continue
        pk, digest = db[key]
        sent = {c: (None, e["value"], e["rationale"]) for c, e in record["values"].items()}
        if scores_sha256(sent) != digest:
            result.hash_mismatch += 1
            _note(result, f"hash differs: item {key[0]} coder {key[1]}")
        stored = scores.get(pk, {})
        if stored != {c: (e["value"], e["rationale"]) for c, e in record["values"].items()}:
            result.score_mismatch += 1
            _note(result, f"scores differ: item {key[0]} coder {key[1]}")
    result.unconfirmed_in_db = len(set(db) - seen)
    result.submit_events = Event.objects.filter(study_id=study_id, verb="submit").count()
    return result


def _note(result: Integrity, text: str) -> None:
    if len(result.problems) < 20:
        result.problems.append(text)
