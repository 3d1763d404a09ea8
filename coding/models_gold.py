"""Coder quality: gold items (versioned expected scores), per-study quality settings and
qualification rounds. See coding/services/gold.py and docs in audit/quality.py.

Gold items are ordinary ``Item`` rows (same public code format, same page) that a lead
has given expected scores. They never enter agreement, reconciliation or exports as
ordinary items: they are coded by many coders against a known answer, not dual-coded
study data (filters: ``ORDINARY_ITEM``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from .models import Assignment, Item, Study

# Filter for querysets of Item / Assignment / Score that keeps ordinary (non-gold) items.
ORDINARY_ITEM = Q(gold__isnull=True)
ORDINARY_ASSIGNMENT = Q(item__gold__isnull=True)
ORDINARY_SCORE = Q(assignment__item__gold__isnull=True)


class QualitySettings(models.Model):
    """A study's gold rate, training mode and qualification rule (defaults: all off)."""

    study = models.OneToOneField(Study, on_delete=models.CASCADE, related_name="quality")
    gold_rate = models.PositiveSmallIntegerField(
        default=0, help_text="Percent of each coder's queue that is gold (0-50)."
    )
    training = models.BooleanField(
        default=False, help_text="Show the expected scores after a coder submits a gold item."
    )
    qualification_items = models.PositiveSmallIntegerField(
        default=0, help_text="Gold items in the qualification round; 0 = no qualification."
    )
    pass_kappa = models.FloatField(
        default=0.6, help_text="Quadratic-weighted kappa vs gold needed on every dimension."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"quality settings of study {self.study_id}"


class GoldItem(models.Model):
    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="gold")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"gold {self.item_id}"


class GoldVersion(models.Model):
    """Expected scores of a gold item. Edited after anyone submitted the item: a new
    version; before that, the current version is edited in place."""

    gold = models.ForeignKey(GoldItem, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    expected = models.JSONField(help_text='{"D1": 2, ...}')
    explanations = models.JSONField(default=dict, blank=True, help_text='{"D1": "why", ...}')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["gold", "number"], name="goldversion_gold_number")
        ]
        ordering = ["gold", "-number"]

    def __str__(self) -> str:
        return f"gold {self.gold_id} v{self.number}"


class QualificationAttempt(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    coder = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    number = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    result = models.JSONField(default=dict, blank=True)
    allowed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "coder", "number"], name="qualification_study_coder_n"
            )
        ]
        ordering = ["study", "coder", "number"]

    def __str__(self) -> str:
        return f"qualification {self.number} of {self.coder_id}: {self.status}"


class GoldAssignment(models.Model):
    """Marks an assignment of a gold item: which qualification attempt it belongs to (if
    any) and, from submission on, the gold version the coder's scores are compared with."""

    assignment = models.OneToOneField(
        Assignment, on_delete=models.CASCADE, related_name="gold_role"
    )
    attempt = models.ForeignKey(
        QualificationAttempt,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="gold_assignments",
    )
    version = models.ForeignKey(
        GoldVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    def __str__(self) -> str:
        return f"gold assignment {self.assignment_id}"
