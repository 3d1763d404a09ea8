"""Pairwise comparison tasks: a coder sees two transcripts of the same prompt from two
hidden configurations side by side and says, per rubric dimension, which is better.

A ``Pair`` joins two items of a pairwise study (``Study.Kind.PAIRWISE``); it has its own
random opaque code and carries no condition data (that stays in each item's sealed
``ConditionKey``). A ``PairAssignment`` gives a pair to one coder and records which item
that coder saw on the left, so position bias can be measured and every choice mapped back
to an item. ``PairJudgment`` holds the coder's choice per dimension in screen terms:
A (left), B (right) or tie.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q


def _new_code() -> str:
    from .models import new_public_code

    return new_public_code()


class Pair(models.Model):
    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="pairs")
    public_code = models.CharField(max_length=16, unique=True, default=_new_code)
    first = models.ForeignKey("coding.Item", on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey("coding.Item", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "first", "second"], name="pair_unique"),
            models.CheckConstraint(condition=~Q(first=F("second")), name="pair_two_items"),
        ]

    def __str__(self) -> str:
        return self.public_code


class PairAssignment(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"

    pair = models.ForeignKey(Pair, on_delete=models.CASCADE, related_name="assignments")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pair_assignments"
    )
    position = models.PositiveIntegerField(help_text="Place in this coder's seeded random order.")
    first_on_left = models.BooleanField(
        help_text="This coder saw the pair's first item on the left (as A); seeded per coder."
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    submitted_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["pair", "coder"], name="pairassignment_pair_coder")
        ]
        indexes = [models.Index(fields=["coder", "status", "position"], name="pairasg_queue")]

    def __str__(self) -> str:
        return f"{self.pair} -> {self.coder}"


class PairJudgment(models.Model):
    class Choice(models.TextChoices):
        A = "A", "A (left) is better"
        B = "B", "B (right) is better"
        TIE = "tie", "Tie"

    assignment = models.ForeignKey(
        PairAssignment, on_delete=models.CASCADE, related_name="judgments"
    )
    dimension = models.ForeignKey("coding.Dimension", on_delete=models.PROTECT, related_name="+")
    choice = models.CharField(max_length=3, choices=Choice.choices)
    rubric_version = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "dimension"], name="pairjudgment_dim")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}/{self.dimension_id}={self.choice}"
