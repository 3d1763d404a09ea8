"""Generation domain: model endpoints, scaffolds, prompts, runs and their transcripts.

Writes live in services.py (library, runs) and cells.py (claiming and storing cells);
reads that need more than a ``.get`` in selectors.py. API keys never enter these tables:
an endpoint stores the *name* of the environment variable that holds its key.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelEndpoint(models.Model):
    class Provider(models.TextChoices):
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible"
        ANTHROPIC = "anthropic", "Anthropic"

    name = models.CharField(max_length=120)
    provider = models.CharField(max_length=20, choices=Provider.choices)
    base_url = models.URLField(max_length=500)
    model = models.CharField(max_length=200)
    api_key_env = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the API key (never the key).",
    )
    default_params = models.JSONField(default=dict, blank=True)
    max_concurrency = models.PositiveSmallIntegerField(default=4)
    timeout_seconds = models.FloatField(default=60.0)
    price_input_per_mtok = models.DecimalField(
        max_digits=10, decimal_places=4, null=True, blank=True, help_text="USD per 1M input tokens."
    )
    price_output_per_mtok = models.DecimalField(
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="USD per 1M output tokens.",
    )
    # Provider limits, enforced across all workers by transcripts/limits.py. Empty: none.
    requests_per_minute = models.PositiveIntegerField(null=True, blank=True)
    tokens_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # "Test connection": one tiny request made by a worker (where the API key lives).
    check_requested_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True)
    check_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="model_endpoints"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["created_by", "name"], name="endpoint_owner_name"),
            models.CheckConstraint(condition=Q(max_concurrency__gte=1), name="endpoint_conc_ge_1"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.model})"


class EndpointLimiter(models.Model):
    """Live rate-limit state of one endpoint, shared by every worker (transcripts/limits.py).

    Two token buckets (requests, tokens) refilled continuously, and the pause a provider
    asked for with Retry-After. Written only under the endpoint's row lock or with
    single-statement updates, so concurrent workers never spend the same budget twice.
    """

    endpoint = models.OneToOneField(
        ModelEndpoint, primary_key=True, on_delete=models.CASCADE, related_name="limiter"
    )
    requests = models.FloatField(default=0.0)  # bucket levels at refilled_at
    tokens = models.FloatField(default=0.0)
    refilled_at = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)  # the provider's Retry-After
    throttled_until = models.DateTimeField(null=True, blank=True)  # our own buckets
    throttled_by = models.CharField(max_length=12, blank=True)
    rate_limited = models.PositiveIntegerField(default=0)  # 429 answers received
    last_retry_after = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"limits of endpoint {self.endpoint_id}"


class Scaffold(models.Model):
    """A system prompt held fixed across a condition. Edits make a new version."""

    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    system_prompt = models.TextField(blank=True, help_text="Empty: no system guidance.")
    sha256 = models.CharField(max_length=64)
    target_dimensions = models.JSONField(default=list, blank=True)
    builtin = models.BooleanField(default=False)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["code", "version"], name="scaffold_code_version")
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name} v{self.version}"


class PromptSet(models.Model):
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    builtin = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Prompt(models.Model):
    class Specification(models.TextChoices):
        FULL = "full", "Fully specified"
        UNDER = "under", "Under-specified"

    prompt_set = models.ForeignKey(PromptSet, on_delete=models.CASCADE, related_name="prompts")
    code = models.CharField(max_length=40)
    text = models.TextField()
    specification = models.CharField(max_length=8, choices=Specification.choices)
    version = models.PositiveIntegerField(default=1)
    sha256 = models.CharField(max_length=64)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt_set", "code", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["prompt_set", "code", "version"], name="prompt_set_code_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} v{self.version}"


class GenerationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    name = models.CharField(max_length=200)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="generation_runs"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.RUNNING)
    endpoints = models.ManyToManyField(ModelEndpoint, related_name="runs")
    scaffolds = models.ManyToManyField(Scaffold, related_name="runs")
    prompt_set = models.ForeignKey(PromptSet, on_delete=models.PROTECT, related_name="runs")
    prompts = models.ManyToManyField(Prompt, related_name="runs")
    replicates = models.PositiveSmallIntegerField(default=1)
    # temperature, top_p, max_tokens, seed, stop, extra: the decoding configuration.
    config = models.JSONField(default=dict, blank=True)
    # max_attempts, max_total_seconds, base_delay, max_delay, lease_seconds.
    policy = models.JSONField(default=dict, blank=True)
    seed = models.BigIntegerField(default=0, help_text="Seeds retry jitter and replicate seeds.")
    code_commit = models.CharField(max_length=64, blank=True)
    code_dirty = models.BooleanField(null=True)
    package_versions = models.JSONField(default=dict, blank=True)
    study = models.ForeignKey(
        "coding.Study", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # What happened to the run as a whole: cancel, resume, recovery after a restart, and
    # each "retry failed" with the failures it retried (so a retried run keeps them).
    history = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        # Not the name: run names may name models, and str() shows up in admin lists
        # and logs of runs that feed blinded studies.
        return f"Run {self.pk}"


class Transcript(models.Model):
    """One cell of a run's grid: endpoint x scaffold x prompt x replicate."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        CLAIMED = "claimed", "Claimed"
        SUCCEEDED = "succeeded", "Succeeded"
        RETRYABLE = "retryable", "Waiting to retry"
        FAILED = "failed", "Failed"

    UNFINISHED = (State.PENDING, State.CLAIMED, State.RETRYABLE)

    run = models.ForeignKey(GenerationRun, on_delete=models.CASCADE, related_name="transcripts")
    endpoint = models.ForeignKey(ModelEndpoint, on_delete=models.PROTECT, related_name="+")
    scaffold = models.ForeignKey(Scaffold, on_delete=models.PROTECT, related_name="+")
    prompt = models.ForeignKey(Prompt, on_delete=models.PROTECT, related_name="+")
    replicate = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    claim_token = models.UUIDField(null=True, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    attempt_log = models.JSONField(default=list, blank=True)
    messages = models.JSONField(default=list, blank=True)
    response_text = models.TextField(blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The coding item made from this transcript (coding never imports this app).
    item = models.ForeignKey(
        "coding.Item", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "endpoint", "scaffold", "prompt", "replicate"],
                name="transcript_unique_cell",
            )
        ]
        indexes = [
            models.Index(fields=["run", "state"]),
            models.Index(fields=["endpoint", "state", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} cell {self.pk}"


from .models_judge import JudgeCell, JudgeRun, JudgeScore  # noqa: E402, F401 - registered
