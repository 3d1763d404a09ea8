"""Study lifecycle: create, members, open (assigns work), and the sealed condition key."""

from __future__ import annotations

import secrets
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import transaction

from coding.assignment import Placement, assign
from coding.models import Assignment, ConditionKey, Event, GoldItem, Item, Membership, Rubric, Study

from .door import condition_data_open
from .errors import Conflict, ServiceError
from .events import event_record
from .gold import gold_plan, gold_plan_save
from .pairwise import pairs_create
from .tallies import tally_add

Role = Membership.Role


def study_create(
    *,
    name: str,
    rubric: Rubric,
    by,
    coders_per_item: int = 2,
    seed: int | None = None,
    description: str = "",
    lead=None,
    kind: str = Study.Kind.ITEMS,
) -> Study:
    """Create a draft study; its creator becomes its lead.

    With ``lead`` (another user) the creator becomes the study's generation operator
    instead, so the lead can stay blind to the run the creator generated.
    """
    name = (name or "").strip()
    if not name:
        raise ServiceError("The study needs a name.")
    if coders_per_item < 2:
        raise ServiceError("Each item needs at least two coders (k >= 2).")
    if kind not in Study.Kind.values:
        raise ServiceError(f"Unknown study kind {kind!r}.")
    with transaction.atomic():
        study = Study.objects.create(
            name=name[:200],
            description=description,
            rubric=rubric,
            kind=kind,
            coders_per_item=coders_per_item,
            seed=seed if seed is not None else secrets.randbelow(2**31),
            created_by=by,
        )
        if lead is not None and lead != by:
            Membership.objects.create(study=study, user=lead, role=Role.LEAD)
            Membership.objects.create(study=study, user=by, role=Role.OPERATOR)
        else:
            Membership.objects.create(study=study, user=by, role=Role.LEAD)
        event_record(
            verb=Event.Verb.STUDY_CREATE,
            actor=by,
            study=study,
            target=study.name,
            payload={"rubric": str(rubric), "k": coders_per_item, "seed": study.seed, "kind": kind}
            | ({"lead": lead.get_username()} if lead is not None and lead != by else {}),
        )
    return study


def membership_add(*, study: Study, username: str, role: str, by) -> Membership:
    """Add a member; a coder added to an open study receives only new work."""
    if role not in Role.values:
        raise ServiceError(f"Unknown role {role!r}.")
    user = get_user_model().objects.filter(username=username.strip()).first()
    if user is None:
        raise ServiceError(f"No user named {username!r}.")
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            study=study, user=user, defaults={"role": role}
        )
        if not created:
            raise ServiceError(f"{user.username} is already a {membership.get_role_display()}.")
        event_record(
            verb=Event.Verb.MEMBER_ADD,
            actor=by,
            study=study,
            target=user.username,
            payload={"role": role},
        )
    return membership


def _coders(study: Study) -> list[int]:
    return list(
        Membership.objects.filter(study=study, role=Role.CODER).values_list("user_id", flat=True)
    )


def _condition_labels(study: Study) -> list[tuple[int, str]]:
    """(item id, condition label) for balancing; items without a key share one condition."""
    labels = {
        item_id: "|".join([model, scaffold, spec])
        for item_id, model, scaffold, spec in ConditionKey.objects.filter(
            item__study=study
        ).values_list("item_id", "model", "scaffold", "specification")
    }
    item_ids = Item.objects.filter(study=study).values_list("pk", flat=True)
    return [(pk, labels.get(pk, "")) for pk in item_ids]


def assignments_extend(*, study: Study, by=None) -> int:
    """Assign every unassigned item of an open study; existing work is never changed.

    A pairwise study's work is pairs: its new items join new pairs (``pairs_create``)."""
    if study.kind == Study.Kind.PAIRWISE:
        return pairs_create(study=study, by=by)
    coders = _coders(study)
    if len(coders) < study.coders_per_item:
        raise ServiceError(
            f"The study needs at least {study.coders_per_item} coders to open "
            f"(it has {len(coders)})."
        )
    gold_ids = set(GoldItem.objects.filter(item__study=study).values_list("item_id", flat=True))
    existing = [
        Placement(item=item_id, coder=coder_id, position=position)
        for item_id, coder_id, position in Assignment.objects.filter(item__study=study).values_list(
            "item_id", "coder_id", "position"
        )
        if item_id not in gold_ids
    ]
    ordinary = [(pk, label) for pk, label in _condition_labels(study) if pk not in gold_ids]
    placements = assign(ordinary, coders, study.coders_per_item, study.seed, existing)
    # Gold items (and a qualification round) are mixed into each coder's new work.
    new_real: dict[int, list[int]] = {}
    for p in sorted(placements, key=lambda p: p.position):
        new_real.setdefault(p.coder, []).append(p.item)
    planned, qual = gold_plan(study=study, new_real=new_real, coders=coders)
    with transaction.atomic():
        made = Assignment.objects.bulk_create(planned, batch_size=1000)
        if gold_ids:
            gold_plan_save(study=study, made=made, qual=qual)
        for coder_id, n in Counter(a.coder_id for a in made).items():
            tally_add(study_id=study.pk, user_id=coder_id, assigned=n)
    placements = made
    if placements:
        event_record(
            verb=Event.Verb.ASSIGN,
            actor=by,
            study=study,
            target=study.name,
            payload={"assignments": len(placements)},
        )
    return len(placements)


def study_open(*, study: Study, by) -> Study:
    """Draft -> open: freeze the rubric and assign every item to k coders."""
    with transaction.atomic():
        if not Item.objects.filter(study=study).exists():
            raise ServiceError("Import items before opening the study.")
        updated = Study.objects.filter(pk=study.pk, status=Study.Status.DRAFT).update(
            status=Study.Status.OPEN
        )
        if not updated:
            raise Conflict("The study is not a draft any more; reload the page.")
        Rubric.objects.filter(pk=study.rubric_id).update(frozen=True)
        study.refresh_from_db()
        assignments_extend(study=study, by=by)
        event_record(verb=Event.Verb.STUDY_OPEN, actor=by, study=study, target=study.name)
    return study


def condition_key_read(*, item: Item, by, reason: str = "") -> ConditionKey | None:
    """The sealed key of one item, through the logged door (see ``door``)."""
    condition_data_open(
        study=item.study, by=by, what="condition key", reason=reason, target=item.public_code
    )
    return ConditionKey.objects.filter(item=item).first()
