"""Counters and the disagreement list behind the lead pages, kept in the writes' transactions.

The lead pages (overview, agreement, reconciliation queue) must cost the same in a study of
200 items and one of 20,000: they read these rows instead of aggregating every assignment,
score and decision. Each is written by the service that changes what it counts, in the
same transaction (``coding.services.tallies``), and can be rebuilt from the data
(``tally_rebuild``; the migration that added them did so for existing studies).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

TALLY_FIELDS = (
    "items",
    "redactions",
    "assigned",
    "submitted",
    "completed",
    "agreed",
    "discussion",
    "adjudicated",
)


class StudyTally(models.Model):
    """One study's counters, sharded by user so concurrent writers update different rows.

    An importer's row holds the items they imported and their redactions; a coder's row
    their own assignments (``assigned``, ``submitted``: their progress) and what their
    submits caused (items completed, cells auto-agreed); a reconciler's row the decisions
    they recorded (a replaced decision is taken off the replacer's row, so one row may go
    negative: only the study's sum has a meaning). The row without a user takes writes
    made by no one (auto-agree, re-scrubbing). Totals are the sums.
    """

    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="tallies")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    items = models.IntegerField(default=0, help_text="Items imported.")
    redactions = models.IntegerField(default=0, help_text="Redactions made in them.")
    assigned = models.IntegerField(default=0)
    submitted = models.IntegerField(default=0)
    completed = models.IntegerField(
        default=0, help_text="Items whose last assignment this submitted."
    )
    agreed = models.IntegerField(default=0)
    discussion = models.IntegerField(default=0)
    adjudicated = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="tally_study_user"),
            models.UniqueConstraint(
                fields=["study"], condition=Q(user__isnull=True), name="tally_study_nobody"
            ),
        ]

    def __str__(self) -> str:
        return f"tally of study {self.study_id} for user {self.user_id}"


class Disagreement(models.Model):
    """An (item, dimension) of a fully coded item whose submitted first-pass values differ.

    Written when the item's last assignment is submitted; the reconciliation queue pages
    through it by (item code, dimension order) on an index (keyset, no OFFSET, no count).
    """

    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="+")
    item = models.ForeignKey("coding.Item", on_delete=models.CASCADE, related_name="+")
    dimension = models.ForeignKey("coding.Dimension", on_delete=models.CASCADE, related_name="+")
    item_code = models.CharField(max_length=16)
    dimension_order = models.PositiveIntegerField()
    low = models.IntegerField()
    high = models.IntegerField()
    coders = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "dimension"], name="disagreement_item_dim")
        ]
        indexes = [
            models.Index(
                fields=["study", "item_code", "dimension_order"], name="disagreement_queue"
            )
        ]

    def __str__(self) -> str:
        return f"{self.item_code}/{self.dimension_id}: {self.low}-{self.high}"
