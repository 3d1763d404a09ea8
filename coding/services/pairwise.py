"""Pairwise studies: make the pairs when the study opens, and lock a coder's choices.

Pairs are made from the sealed condition key by the system, as assignment balancing is
(``studies.assignments_extend``): nobody reads the key here and nothing of it is stored on
the pair. See ``coding.pairing`` for the design and ``coding.models_pairwise``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from coding.assignment import Placement, assign
from coding.models import (
    ConditionKey,
    Dimension,
    Event,
    Membership,
    Pair,
    PairAssignment,
    PairJudgment,
    Study,
)
from coding.pairing import Candidate, pair_design, sides

from .errors import Conflict, ServiceError
from .events import event_record

CHOICES = frozenset(PairJudgment.Choice.values)


def _candidates(study: Study) -> list[Candidate]:
    rows = ConditionKey.objects.filter(item__study=study).values_list(
        "item_id", "prompt", "model", "scaffold", "replicate"
    )
    return [
        Candidate(item, prompt, model, scaffold, rep) for item, prompt, model, scaffold, rep in rows
    ]


def pairs_create(*, study: Study, by=None) -> int:
    """Make the study's pairs and give each to k coders (``study_open``), or, when the
    study already has pairs (items imported into an open study), add only the new ones.

    Existing pairs and their assignments are never changed: they count towards coder
    loads and positions. Returns the number of pair assignments made; refuses when the
    study has no pair and none can be formed.
    """
    coders = list(
        Membership.objects.filter(study=study, role=Membership.Role.CODER).values_list(
            "user_id", flat=True
        )
    )
    if len(coders) < study.coders_per_item:
        raise ServiceError(
            f"The study needs at least {study.coders_per_item} coders to open "
            f"(it has {len(coders)})."
        )
    planned = pair_design(_candidates(study))
    label_of = {(p.first, p.second): p.label for p in planned}
    existing = {
        (first, second): pk
        for pk, first, second in Pair.objects.filter(study=study).values_list(
            "pk", "first_id", "second_id"
        )
    }
    new = [p for p in planned if (p.first, p.second) not in existing]
    if not new:
        if existing:
            return 0
        raise ServiceError(
            "No pair can be formed: a pairwise study needs, for some prompt and scaffold, "
            "transcripts from at least two models (set each item's model, scaffold and prompt)."
        )
    with transaction.atomic():
        pairs = Pair.objects.bulk_create(
            [Pair(study=study, first_id=p.first, second_id=p.second) for p in new],
            batch_size=1000,
        )
        labels = [(pk, label_of.get(key, "")) for key, pk in existing.items()]
        labels += [(pair.pk, plan.label) for pair, plan in zip(pairs, new, strict=True)]
        placed = [
            Placement(item=pair_id, coder=coder_id, position=position)
            for pair_id, coder_id, position in PairAssignment.objects.filter(
                pair__study=study
            ).values_list("pair_id", "coder_id", "position")
        ]
        placements = assign(labels, coders, study.coders_per_item, study.seed, placed)
        coders_by_pair: dict[int, list[int]] = defaultdict(list)
        for p in placements:
            coders_by_pair[p.item].append(p.coder)
        left = sides(coders_by_pair, study.seed)
        PairAssignment.objects.bulk_create(
            [
                PairAssignment(
                    pair_id=p.item,
                    coder_id=p.coder,
                    position=p.position,
                    first_on_left=left[(p.item, p.coder)],
                )
                for p in placements
            ],
            batch_size=1000,
        )
        event_record(
            verb=Event.Verb.ASSIGN,
            actor=by,
            study=study,
            target=study.name,
            payload={"pairs": len(pairs), "assignments": len(placements)},
        )
    return len(placements)


def _clean(study: Study, choices: dict[str, str]) -> dict[str, tuple[Dimension, str]]:
    if not isinstance(choices, dict):
        raise ServiceError("Choices must map dimension codes to A, B or tie.")
    dims = {d.code: d for d in Dimension.objects.filter(rubric_id=study.rubric_id)}
    unknown = sorted(str(code)[:20] for code in choices if code not in dims)
    if unknown:
        raise ServiceError(f"Unknown dimension(s): {', '.join(unknown[:5])}.")
    bad = sorted(c for c, v in choices.items() if not (isinstance(v, str) and v in CHOICES))
    if bad:
        raise ServiceError(f"Choose A, B or tie for {', '.join(bad)}.")
    missing = [code for code in dims if code not in choices]
    if missing:
        raise ServiceError(
            f"Choose A, B or tie for every dimension (missing {', '.join(missing)})."
        )
    return {code: (dims[code], choices[code]) for code in dims}


def choices_sha256(choices: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(choices, sort_keys=True).encode()).hexdigest()


def _same_as_submitted(assignment: PairAssignment, choices: dict[str, str]) -> bool:
    stored = dict(
        PairJudgment.objects.filter(assignment=assignment).values_list("dimension__code", "choice")
    )
    return bool(stored) and stored == choices


def pair_judgment_submit(
    *, assignment: PairAssignment, choices: dict[str, str], expected_version: int, by
) -> PairAssignment:
    """Lock a coder's choices (A = left, B = right, tie) for every dimension of one pair.

    Replaying the same choices after submission is a no-op; other choices are a Conflict.
    """
    study = assignment.pair.study
    if study.status != Study.Status.OPEN:
        raise ServiceError("This study is not open for coding.")
    cleaned = _clean(study, choices)
    plain = {code: choice for code, (_d, choice) in cleaned.items()}
    if assignment.status == PairAssignment.Status.SUBMITTED:
        if _same_as_submitted(assignment, plain):
            return assignment
        raise Conflict("This pair is already submitted; its choices are locked.")
    now = timezone.now()
    try:
        with transaction.atomic():
            updated = PairAssignment.objects.filter(
                pk=assignment.pk, version=expected_version, status=PairAssignment.Status.OPEN
            ).update(
                status=PairAssignment.Status.SUBMITTED, submitted_at=now, version=F("version") + 1
            )
            if not updated:
                raise Conflict("This pair was changed elsewhere; reload it.")
            rubric_version = study.rubric.version
            PairJudgment.objects.bulk_create(
                [
                    PairJudgment(
                        assignment=assignment,
                        dimension=dim,
                        choice=choice,
                        rubric_version=rubric_version,
                    )
                    for dim, choice in cleaned.values()
                ]
            )
            event_record(
                verb=Event.Verb.PAIR_SUBMIT,
                actor=by,
                study=study,
                target=assignment.pair.public_code,
                payload={"choices_sha256": choices_sha256(plain)},
            )
    except Conflict:
        current = PairAssignment.objects.filter(pk=assignment.pk).first()
        if current is not None and _same_as_submitted(current, plain):
            return current
        raise
    except IntegrityError:
        raise Conflict("This pair was changed elsewhere; reload it.")
    assignment.status = PairAssignment.Status.SUBMITTED
    assignment.submitted_at = now
    assignment.version = expected_version + 1
    return assignment
