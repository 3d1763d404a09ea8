"""Counting a model co-coder as a coder (the lead's explicit opt-in), and undoing it.

Opted in, a judge run's accepted scores are filed as the submitted first-pass assignments
of a bot account (``model-coder-<run>``, inactive, no password, no membership: it can
never log in or appear in anyone's queue). From then on coding treats them like any
coder's: agreement, the reconciliation queue (coders anonymised as usual) and exports.
Rejected dimensions get no score. Opting out deletes the bot's assignments; decisions
already recorded from them stay. Coding never imports this app: it only sees rows.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from coding.models import Assignment, Item, Score
from coding.services import Conflict, reconciliation_auto_agree
from coding.services.scoring import scores_sha256

from .models_judge import JudgeCell, JudgeRun, JudgeScore

BOT_PREFIX = "model-coder-"


def bot_username(run: JudgeRun) -> str:
    return f"{BOT_PREFIX}{run.pk}"


def _bot(run: JudgeRun):
    if run.coder_id:
        return run.coder
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=bot_username(run), defaults={"is_active": False}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    JudgeRun.objects.filter(pk=run.pk).update(coder=user)
    run.coder = user
    return user


def _file(run: JudgeRun, cells: list[JudgeCell]) -> int:
    """Submitted assignments and scores for succeeded cells not filed yet."""
    bot = _bot(run)
    filed = set(
        Assignment.objects.filter(coder=bot, item__study_id=run.study_id).values_list(
            "item_id", flat=True
        )
    )
    cells = [c for c in cells if c.item_id not in filed]
    if not cells:
        return 0
    start = (Assignment.objects.filter(coder=bot).aggregate(m=Max("position"))["m"] or 0) + 1
    scores: dict[int, list[JudgeScore]] = {}
    for score in JudgeScore.objects.filter(cell__in=cells, value__isnull=False).select_related(
        "dimension"
    ):
        scores.setdefault(score.cell_id, []).append(score)
    now = timezone.now()
    assignments = []
    for i, cell in enumerate(cells):
        cleaned = {
            s.dimension.code: (s.dimension, s.value, s.rationale) for s in scores.get(cell.pk, [])
        }
        assignments.append(
            Assignment(
                item_id=cell.item_id,
                coder=bot,
                position=start + i,
                status=Assignment.Status.SUBMITTED,
                submitted_at=cell.finished_at or now,
                content_sha256=cell.content_sha256,
                scores_sha256=scores_sha256(cleaned),
            )
        )
    Assignment.objects.bulk_create(assignments, batch_size=500)
    by_item = {
        a.item_id: a for a in Assignment.objects.filter(coder=bot, item__study_id=run.study_id)
    }
    Score.objects.bulk_create(
        [
            Score(
                assignment=by_item[cell.item_id],
                dimension_id=s.dimension_id,
                value=s.value,
                rationale=s.rationale,
                rubric_version=run.rubric_version,
            )
            for cell in cells
            for s in scores.get(cell.pk, [])
        ],
        batch_size=1000,
    )
    reconciliation_auto_agree(study=run.study)
    return len(assignments)


def judge_inclusion_sync(*, run: JudgeRun) -> int:
    """File every succeeded cell of an opted-in run (idempotent); how many were added."""
    cells = list(JudgeCell.objects.filter(run=run, state=JudgeCell.State.SUCCEEDED))
    with transaction.atomic():
        return _file(run, cells)


def judge_inclusion_sync_cell(*, cell_id: int) -> None:
    """After a cell succeeds: file it too if its run counts as a coder in an open study."""
    cell = JudgeCell.objects.select_related("run", "run__study").filter(pk=cell_id).first()
    if cell is None or not cell.run.counts_as_coder or cell.run.study.status != "open":
        return
    try:
        with transaction.atomic():
            _file(cell.run, [cell])
    except Conflict:
        pass  # the study was locked meanwhile: its coding is final, nothing more is filed


def judge_inclusion_remove(*, run: JudgeRun) -> int:
    """Delete the bot's assignments (and scores) in this run's study."""
    if not run.coder_id:
        return 0
    rows = Assignment.objects.filter(
        coder_id=run.coder_id, item__in=Item.objects.filter(study_id=run.study_id)
    )
    n = rows.count()
    Score.objects.filter(assignment__in=rows).delete()
    rows.delete()
    return n
