"""Analysis-side models: agreement snapshots over time and the benchmark registry."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AgreementSnapshot(models.Model):
    """Precomputed agreement results for a study (written by a Celery task)."""

    study = models.ForeignKey(
        "coding.Study", on_delete=models.CASCADE, related_name="agreement_snapshots"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    n_submitted = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict)

    class Meta:
        ordering = ["-at", "-id"]
        get_latest_by = "at"

    def __str__(self) -> str:
        return f"agreement for {self.study_id} at {self.at:%Y-%m-%d %H:%M}"


class Benchmark(models.Model):
    class ClaimLevel(models.TextChoices):
        MODEL = "model", "Model"
        RESPONSE = "response", "Response"
        INTERACTION = "interaction", "Interaction"
        DEPLOYMENT = "deployment", "Deployment"

    name = models.CharField(max_length=200, unique=True)
    citation = models.TextField(blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    url = models.URLField(blank=True)
    claim_level = models.CharField(max_length=12, choices=ClaimLevel.choices, blank=True)
    description = models.TextField(blank=True, help_text="What coders read when auditing it.")
    notes = models.TextField(blank=True)
    citation_verified = models.BooleanField(
        default=False,
        help_text="The citation was checked against the source. Unverified entries are "
        "marked wherever they appear (registry, audit matrices, claim reports).",
    )
    # Shared entries are read-only: leads copy them or propose an edit (registry.py).
    builtin = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=1)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class BenchmarkVersion(models.Model):
    """One state of a registry entry, with who made it and when (append-only).

    ``revision`` numbers every change to the whole registry (1, 2, 3, ...): the registry
    version that claim reports and audit matrices state.
    """

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    revision = models.PositiveIntegerField(unique=True)
    fields = models.JSONField(default=dict)
    changed = models.JSONField(default=list, blank=True)
    note = models.CharField(max_length=300, blank=True)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["benchmark", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["benchmark", "version"], name="benchmark_version")
        ]

    def __str__(self) -> str:
        return f"{self.benchmark_id} v{self.version} (registry r{self.revision})"


class BenchmarkProposal(models.Model):
    """A proposed edit of an entry its proposer may not edit (built-in or someone else's)."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="proposals")
    base_version = models.PositiveIntegerField()
    fields = models.JSONField(default=dict)
    note = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]

    def __str__(self) -> str:
        return f"proposal {self.pk} for {self.benchmark_id} ({self.status})"


class SnapshotRequest(models.Model):
    """Debounce flag: at most one agreement snapshot queued per study.

    Inserted (unique per study) when a snapshot is queued and deleted by the task when
    it starts, so submissions made while it computes queue exactly one more run.
    """

    study = models.OneToOneField(
        "coding.Study", on_delete=models.CASCADE, related_name="snapshot_request"
    )
    requested_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"snapshot queued for {self.study_id} at {self.requested_at:%H:%M:%S}"


class ClaimStatement(models.Model):
    """What the lead claims from a study, for the claim-indexing report (one per study)."""

    study = models.OneToOneField(
        "coding.Study", on_delete=models.CASCADE, related_name="claim_statement"
    )
    claim = models.TextField(blank=True, help_text="The claim, in one or two sentences.")
    claim_level = models.CharField(max_length=12, choices=Benchmark.ClaimLevel.choices, blank=True)
    model_evidence = models.TextField(
        blank=True, help_text="Model-level evidence cited beside this study (e.g. benchmark runs)."
    )
    benchmarks = models.ManyToManyField(Benchmark, blank=True, related_name="+")
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"claim for {self.study_id}"


class BlindingCheck(models.Model):
    """One run of the blinding check on a study (written by a Celery task).

    ``results`` holds, per hidden field, the classifier's accuracy, chance rate,
    permutation p-value and most predictive n-grams, and the redaction-rate test; never
    a condition value, so a lead can read it and stay blind (``audit.blinding_check``).
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(
        "coding.Study", on_delete=models.CASCADE, related_name="blinding_checks"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.FloatField(default=0.0)
    stage = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Hash of the items' content hashes when the check ran: a later import or re-scrub
    # makes the results stale.
    items_digest = models.CharField(max_length=64, blank=True)
    results = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"blinding check {self.pk} of study {self.study_id} ({self.status})"
