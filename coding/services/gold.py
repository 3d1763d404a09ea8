"""Gold items, quality settings, gold placement in queues and qualification rounds.

Decisions (documented in docs and tests):
- Gold items are study items with expected scores. They are excluded from agreement,
  the reconciliation queue, auto-agree and the CSV exports (``ORDINARY_*`` filters): they
  are checks on coders, not study data. Their scores appear only on the quality pages.
- An item becomes gold only before anyone submitted it as an ordinary item, so no
  first-pass score ever changes category after the fact.
- Editing gold after someone submitted against the current version makes a new version;
  each submission records the version in force (``GoldAssignment.version``), which is
  what that coder is compared with (and what training feedback showed them).
"""

from __future__ import annotations

import csv
import io
import math

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from alignweb.bounds import OutOfBounds, parse_int
from coding import hooks
from coding.models import (
    Assignment,
    Event,
    GoldAssignment,
    GoldItem,
    GoldVersion,
    Item,
    QualificationAttempt,
    QualitySettings,
    Study,
)
from coding.rubric_cache import rubric_dimensions

from .errors import Conflict, ServiceError
from .events import event_record

MAX_EXPLANATION = 5000
MAX_GOLD_CSV = 2_000_000
Attempt = QualificationAttempt


def quality_settings_get(*, study: Study) -> QualitySettings:
    """The study's settings, or unsaved defaults (everything off)."""
    return QualitySettings.objects.filter(study=study).first() or QualitySettings(study=study)


def quality_settings_update(
    *,
    study: Study,
    by,
    gold_rate: int,
    training: bool,
    qualification_items: int,
    pass_kappa: float,
) -> QualitySettings:
    """Set the gold rate (0-50 %), training mode and the qualification rule.

    The qualification rule is fixed once the study is open (coders are already gated or
    not); the rate applies to work assigned from now on; training mode may change anytime.
    """
    try:
        gold_rate = parse_int(gold_rate, low=0, high=50)
    except OutOfBounds:
        raise ServiceError("The gold rate is a percentage from 0 to 50.")
    try:
        qualification_items = parse_int(qualification_items, low=0, high=50)
    except OutOfBounds:
        raise ServiceError("A qualification round has 0 to 50 gold items.")
    try:
        pass_kappa = float(str(pass_kappa)[:20])
    except ValueError:
        pass_kappa = math.nan
    if not (math.isfinite(pass_kappa) and -1.0 <= pass_kappa <= 1.0):
        raise ServiceError("The pass threshold is a kappa between -1 and 1.")
    with transaction.atomic():
        current = quality_settings_get(study=study)
        rule_changed = (current.qualification_items, current.pass_kappa) != (
            int(qualification_items),
            float(pass_kappa),
        )
        if rule_changed and study.status != Study.Status.DRAFT:
            raise ServiceError("The qualification rule can only change while the study is a draft.")
        current.gold_rate = int(gold_rate)
        current.training = bool(training)
        current.qualification_items = int(qualification_items)
        current.pass_kappa = float(pass_kappa)
        current.save()
        event_record(
            verb=Event.Verb.QUALITY_SETTINGS,
            actor=by,
            study=study,
            target=study.name,
            payload={
                "gold_rate": current.gold_rate,
                "training": current.training,
                "qualification_items": current.qualification_items,
                "pass_kappa": current.pass_kappa,
            },
        )
    return current


def _clean_expected(
    study: Study, expected: dict[str, object], explanations: dict[str, str]
) -> tuple[dict[str, int], dict[str, str]]:
    dims = {d.code: d for d in rubric_dimensions(study.rubric)}
    values: dict[str, int] = {}
    for code, raw in expected.items():
        if code not in dims:
            raise ServiceError(f"Unknown dimension {str(code)[:20]!r}.")
        try:
            value = parse_int(raw if isinstance(raw, int) else str(raw), low=-99, high=99)
        except OutOfBounds:
            raise ServiceError(f"{code}: {str(raw)[:10]!r} is not a level.")
        allowed = {lv.value for lv in dims[code].levels.all()}
        if value not in allowed:
            raise ServiceError(f"{code}: {value} is not one of {sorted(allowed)}.")
        values[code] = value
    missing = [c for c in dims if c not in values]
    if missing:
        raise ServiceError("Give an expected score for every dimension: " + ", ".join(missing))
    notes: dict[str, str] = {}
    for code, text in (explanations or {}).items():
        text = str(text or "").strip()
        if code not in dims:
            raise ServiceError(f"Unknown dimension {str(code)[:20]!r}.")
        if "\x00" in text or len(text) > MAX_EXPLANATION:
            raise ServiceError(f"{code}: explanation must be under {MAX_EXPLANATION} characters.")
        if text:
            notes[code] = text
    return {c: values[c] for c in dims}, notes


def gold_set(
    *, item: Item, expected: dict[str, object], explanations: dict[str, str] | None = None, by
) -> GoldVersion:
    """Make ``item`` gold or change its expected scores (versioned once coded)."""
    study = item.study
    values, notes = _clean_expected(study, expected, explanations or {})
    with transaction.atomic():
        list(Item.objects.select_for_update().filter(pk=item.pk).values_list("pk"))
        gold = GoldItem.objects.filter(item=item).first()
        if gold is None:
            if Assignment.objects.filter(item=item, status=Assignment.Status.SUBMITTED).exists():
                raise ServiceError(
                    f"{item.public_code} was already coded as an ordinary item; "
                    "only items nobody has submitted can become gold."
                )
            gold = GoldItem.objects.create(item=item, created_by=by)
            GoldAssignment.objects.bulk_create(
                [GoldAssignment(assignment=a) for a in Assignment.objects.filter(item=item)]
            )
        current = gold.versions.order_by("-number").first()
        if current is not None and (current.expected, current.explanations) == (values, notes):
            return current
        in_use = current is not None and GoldAssignment.objects.filter(version=current).exists()
        if current is None or in_use:
            number = 1 if current is None else current.number + 1
            version = GoldVersion.objects.create(
                gold=gold, number=number, expected=values, explanations=notes, created_by=by
            )
        else:
            current.expected, current.explanations = values, notes
            current.save(update_fields=["expected", "explanations"])
            version = current
        event_record(
            verb=Event.Verb.GOLD_SET,
            actor=by,
            study=study,
            target=item.public_code,
            payload={"version": version.number, "expected": values},
        )
    return version


GOLD_COLUMNS = ("item_code", "dimension", "expected_score", "explanation")


def gold_import_csv(*, study: Study, raw: bytes, by) -> int:
    """Import gold answers from CSV (item_code, dimension, expected_score, explanation):
    one row per item x dimension. All or nothing; errors name their row."""
    if len(raw) > MAX_GOLD_CSV:
        raise ServiceError("The gold file is larger than 2 MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError("The gold file is not UTF-8 text.")
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if header[:3] != list(GOLD_COLUMNS[:3]):
        raise ServiceError("Columns must be: " + ", ".join(GOLD_COLUMNS) + ".")
    reader.fieldnames = header
    rows: dict[str, tuple[dict, dict]] = {}
    errors = []
    for n, row in enumerate(reader, start=2):
        code = (row.get("item_code") or "").strip()
        dim = (row.get("dimension") or "").strip()
        if not code or not dim:
            errors.append(f"row {n}: item_code and dimension are required")
            continue
        expected, notes = rows.setdefault(code, ({}, {}))
        if dim in expected:
            errors.append(f"row {n}: {code} {dim} appears twice")
        expected[dim] = (row.get("expected_score") or "").strip()
        notes[dim] = (row.get("explanation") or "").strip()
        if len(errors) >= 20:
            break
    items = {
        i.public_code: i
        for i in Item.objects.filter(study=study, public_code__in=list(rows)[:10000])
    }
    for code in rows:
        if code not in items:
            errors.append(f"item {code[:20]!r} is not in this study")
    if errors:
        raise ServiceError("Nothing imported: " + "; ".join(errors[:20]))
    if not rows:
        raise ServiceError("The gold file has no rows.")
    with transaction.atomic():
        for code, (expected, notes) in rows.items():
            try:
                gold_set(item=items[code], expected=expected, explanations=notes, by=by)
            except ServiceError as exc:
                raise ServiceError(f"Nothing imported: {code}: {exc}")
    return len(rows)


# --- qualification -------------------------------------------------------------------


def qualification_required(study: Study) -> bool:
    return bool(QualitySettings.objects.filter(study=study, qualification_items__gt=0).exists())


def coder_released(*, study: Study, coder) -> bool:
    """True when the coder may see ordinary (and monitoring gold) items."""
    if not qualification_required(study):
        return True
    return Attempt.objects.filter(study=study, coder=coder, status=Attempt.Status.PASSED).exists()


def assignment_released(assignment: Assignment) -> bool:
    """Whether this assignment may be opened and scored by its coder now."""
    study = assignment.item.study
    if coder_released(study=study, coder=assignment.coder_id):
        return True
    return GoldAssignment.objects.filter(assignment=assignment, attempt__isnull=False).exists()


def qualification_evaluate(attempt: QualificationAttempt) -> str:
    """Decide a pending attempt once all its items are submitted (inside the submit)."""
    roles = list(
        GoldAssignment.objects.filter(attempt=attempt).select_related("assignment", "version")
    )
    if not roles or any(r.assignment.status != Assignment.Status.SUBMITTED for r in roles):
        return attempt.status
    study = Study.objects.select_related("rubric").get(pk=attempt.study_id)
    dims = rubric_dimensions(study.rubric)
    scores: dict[tuple[int, str], int] = {}
    from coding.models import Score

    for aid, code, value in Score.objects.filter(
        assignment_id__in=[r.assignment_id for r in roles]
    ).values_list("assignment_id", "dimension__code", "value"):
        scores[(aid, code)] = value
    per_dim = {}
    for d in dims:
        pairs = [
            (scores[(r.assignment_id, d.code)], r.version.expected[d.code])
            for r in roles
            if (r.assignment_id, d.code) in scores and d.code in r.version.expected
        ]
        if pairs:
            cats = sorted(lv.value for lv in d.levels.all())
            per_dim[d.code] = ([a for a, _ in pairs], [b for _, b in pairs], cats)
    settings = quality_settings_get(study=study)
    passed, detail = hooks.qualification_verdict(per_dim, settings.pass_kappa)
    status = Attempt.Status.PASSED if passed else Attempt.Status.FAILED
    Attempt.objects.filter(pk=attempt.pk, status=Attempt.Status.PENDING).update(
        status=status,
        result={"threshold": settings.pass_kappa, "dimensions": detail},
        decided_at=timezone.now(),
    )
    event_record(
        verb=Event.Verb.QUALIFICATION,
        actor=None,
        study=study,
        target=str(attempt.coder_id),
        payload={"attempt": attempt.number, "status": status},
    )
    return status


def gold_after_submit(assignment: Assignment) -> bool:
    """Inside ``score_submit``: record the gold version a gold item was scored against and
    decide a completed qualification attempt. False for ordinary items."""
    role = GoldAssignment.objects.filter(assignment=assignment).select_related("attempt").first()
    if role is None:
        return False
    current = (
        GoldVersion.objects.filter(gold__item_id=assignment.item_id).order_by("-number").first()
    )
    GoldAssignment.objects.filter(pk=role.pk).update(version=current)
    if role.attempt is not None and role.attempt.status == Attempt.Status.PENDING:
        qualification_evaluate(role.attempt)
    return True


def _next_position(study: Study, coder_id) -> int:
    top = Assignment.objects.filter(item__study=study, coder_id=coder_id).aggregate(
        m=Max("position")
    )["m"]
    return 0 if top is None else top + 1


def qualification_retry(*, study: Study, coder, by) -> QualificationAttempt:
    """Give a coder whose latest attempt failed a new round of unseen gold items."""
    from coding.gold_mix import pick

    settings = quality_settings_get(study=study)
    if not settings.qualification_items:
        raise ServiceError("This study has no qualification round.")
    with transaction.atomic():
        last = (
            Attempt.objects.select_for_update()
            .filter(study=study, coder=coder)
            .order_by("-number")
            .first()
        )
        if last is None or last.status != Attempt.Status.FAILED:
            raise Conflict("Only a coder whose latest attempt failed can retry.")
        n = settings.qualification_items
        # Unseen gold: never assigned to this coder, or assigned for monitoring and not
        # yet opened (the coder was gated, so they never saw it).
        spare_roles = list(
            GoldAssignment.objects.filter(
                assignment__coder=coder,
                assignment__item__study=study,
                assignment__status=Assignment.Status.OPEN,
                assignment__version=0,
                attempt__isnull=True,
            ).values_list("pk", "assignment__item_id")
        )
        assigned = set(
            Assignment.objects.filter(item__study=study, coder=coder).values_list(
                "item_id", flat=True
            )
        )
        fresh = [
            pk
            for pk in GoldItem.objects.filter(item__study=study).values_list("item_id", flat=True)
            if pk not in assigned
        ]
        if len(fresh) + len(spare_roles) < n:
            raise ServiceError(
                f"Not enough unseen gold items for a new round of {n}; mark more items gold."
            )
        attempt = Attempt.objects.create(
            study=study, coder=coder, number=last.number + 1, allowed_by=by
        )
        chosen = pick(fresh, n, study.seed, coder.pk, attempt.number)
        position = _next_position(study, coder.pk)
        made = Assignment.objects.bulk_create(
            [
                Assignment(item_id=item_id, coder=coder, position=position + i)
                for i, item_id in enumerate(chosen)
            ]
        )
        GoldAssignment.objects.bulk_create(
            [GoldAssignment(assignment=a, attempt=attempt) for a in made]
        )
        if made:
            from .tallies import tally_add

            tally_add(study_id=study.pk, user_id=coder.pk, assigned=len(made))
        need = n - len(chosen)
        if need:
            reuse = [pk for pk, _ in spare_roles[:need]]
            GoldAssignment.objects.filter(pk__in=reuse).update(attempt=attempt)
        event_record(
            verb=Event.Verb.QUALIFICATION_RETRY,
            actor=by,
            study=study,
            target=coder.get_username(),
            payload={"attempt": attempt.number},
        )
    return attempt


def gold_plan(
    *,
    study: Study,
    new_real: dict[int, list[int]],
    coders: list[int],
) -> tuple[list[Assignment], dict[int, set[int]]]:
    """Unsaved assignments for each coder's new ordinary items with gold mixed in, and for
    coders who need one, a qualification round first. Returns (assignments, {coder id:
    item ids of their new qualification round})."""
    from coding.gold_mix import gold_target, interleave, pick

    settings = quality_settings_get(study=study)
    gold_ids = list(GoldItem.objects.filter(item__study=study).values_list("item_id", flat=True))
    held: dict[int, set[int]] = {c: set() for c in coders}
    real_count: dict[int, int] = dict.fromkeys(coders, 0)
    gold_count: dict[int, int] = dict.fromkeys(coders, 0)
    gold_set_ = set(gold_ids)
    for coder_id, item_id in Assignment.objects.filter(item__study=study).values_list(
        "coder_id", "item_id"
    ):
        if coder_id in held:
            held[coder_id].add(item_id)
            if item_id in gold_set_:
                gold_count[coder_id] += 1
            else:
                real_count[coder_id] += 1
    has_attempt = set(
        Attempt.objects.filter(study=study).values_list("coder_id", flat=True).distinct()
    )
    out: list[Assignment] = []
    qual: dict[int, set[int]] = {}
    for coder_id in coders:
        real = new_real.get(coder_id, [])
        pool = [g for g in gold_ids if g not in held[coder_id]]
        first: list[int] = []
        if settings.qualification_items and coder_id not in has_attempt and real:
            first = pick(pool, settings.qualification_items, study.seed, coder_id, "qual")
            if len(first) < settings.qualification_items:
                raise ServiceError(
                    f"The qualification round needs {settings.qualification_items} gold "
                    f"items; the study has {len(gold_ids)}."
                )
            qual[coder_id] = set(first)
            pool = [g for g in pool if g not in qual[coder_id]]
        want = gold_target(settings.gold_rate, real_count[coder_id] + len(real))
        monitoring = pick(pool, want - gold_count[coder_id], study.seed, coder_id, len(held))
        order = first + interleave(real, monitoring, study.seed, coder_id, len(held))
        start = _next_position(study, coder_id)
        out.extend(
            Assignment(item_id=item_id, coder_id=coder_id, position=start + i)
            for i, item_id in enumerate(order)
        )
    return out, qual


def gold_plan_save(*, study: Study, made: list[Assignment], qual: dict[int, set[int]]) -> None:
    """Mark the gold assignments just created and open the qualification attempts."""
    gold_ids = set(GoldItem.objects.filter(item__study=study).values_list("item_id", flat=True))
    attempts = {
        coder_id: Attempt.objects.create(study=study, coder_id=coder_id, number=1)
        for coder_id in qual
    }
    GoldAssignment.objects.bulk_create(
        [
            GoldAssignment(
                assignment=a,
                attempt=attempts.get(a.coder_id) if a.item_id in qual.get(a.coder_id, ()) else None,
            )
            for a in made
            if a.item_id in gold_ids
        ]
    )
