"""Model co-coder ("judge run"): a model endpoint scores a study's items like a blinded coder.

A ``JudgeRun`` attaches one of the lead's endpoints to a study. Each item is one
``JudgeCell`` (the same life as a generation cell: pending -> claimed(lease) -> succeeded |
retryable | failed), and a succeeded cell holds one ``JudgeScore`` per rubric dimension.
The model sees exactly the coder-visible (scrubbed) item content and the rubric.

Judge scores live here, apart from the human coders' ``coding.Score`` rows, so they never
enter agreement, reconciliation or exports. Only a run the lead marks ``counts_as_coder``
is copied into the study as one more (bot) coder's submitted assignments
(``transcripts.judge_inclusion``); at most one run per study.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class JudgeRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    study = models.ForeignKey("coding.Study", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        "transcripts.ModelEndpoint", on_delete=models.PROTECT, related_name="judge_runs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    rubric = models.ForeignKey("coding.Rubric", on_delete=models.PROTECT, related_name="+")
    rubric_version = models.PositiveIntegerField()
    # The instructions (system prompt) as sent, and their hash: provenance of every score.
    instructions = models.TextField()
    instructions_sha256 = models.CharField(max_length=64)
    config = models.JSONField(default=dict, blank=True)  # temperature, max_tokens, seed
    policy = models.JSONField(default=dict, blank=True)  # RetryPolicy + format_attempts
    seed = models.BigIntegerField(default=0)
    code_commit = models.CharField(max_length=64, blank=True)
    # The explicit study setting: this run's scores count as one more coder.
    counts_as_coder = models.BooleanField(default=False)
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The bot account its scores are filed under when it counts as a coder.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["study"], condition=Q(counts_as_coder=True), name="judge_one_counted"
            )
        ]

    def __str__(self) -> str:
        return f"Judge run {self.pk}"


class JudgeCell(models.Model):
    """One item of a judge run."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYABLE = "retryable", "Waiting to retry"
        FAILED = "failed", "Failed"

    UNFINISHED = (State.PENDING, State.CLAIMED, State.RETRYABLE)

    run = models.ForeignKey(JudgeRun, on_delete=models.CASCADE, related_name="cells")
    item = models.ForeignKey("coding.Item", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    attempt_log = models.JSONField(default=list, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)  # the item text it saw
    prompt_sha256 = models.CharField(max_length=64, blank=True)  # the messages it was sent
    response_text = models.TextField(blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["run", "item"], name="judgecell_run_item")]
        indexes = [models.Index(fields=["run", "state"])]

    def __str__(self) -> str:
        return f"judge run {self.run_id} cell {self.pk}"


class JudgeScore(models.Model):
    """The judge's score for one dimension; ``value`` is None when it was rejected."""

    cell = models.ForeignKey(JudgeCell, on_delete=models.CASCADE, related_name="scores")
    dimension = models.ForeignKey("coding.Dimension", on_delete=models.PROTECT, related_name="+")
    value = models.IntegerField(null=True, blank=True)
    rationale = models.TextField(blank=True)
    rejected = models.TextField(blank=True, help_text="Why the returned value was not accepted.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["cell", "dimension"], name="judgescore_cell_dim")
        ]

    def __str__(self) -> str:
        return f"{self.cell_id}/{self.dimension_id}={self.value}"
