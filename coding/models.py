"""Coding domain: rubrics, studies, blinded items, assignments, scores, reconciliation.

Writes live in coding/services.py; reads that need more than a `.get` in selectors.py.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q

# Crockford-style alphabet without look-alikes (no 0/O, 1/I/L, U).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"


_CODE_SPACE = len(CODE_ALPHABET) ** 6


def new_public_code() -> str:
    """A random opaque code such as ``K7Q-2MX``: never derived from a key or from order.

    One uniform draw from all 6-character codes, spelled in base 30 (six draws of one
    character each give the same distribution for six times the system calls)."""
    number = secrets.randbelow(_CODE_SPACE)
    chars = []
    for _ in range(6):
        number, digit = divmod(number, len(CODE_ALPHABET))
        chars.append(CODE_ALPHABET[digit])
    return f"{''.join(chars[:3])}-{''.join(chars[3:])}"


class Rubric(models.Model):
    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    frozen = models.BooleanField(
        default=False, help_text="Used by an open study: edits make a new version."
    )
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_versions"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="rubric_name_version")
        ]
        ordering = ["name", "-version"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class Dimension(models.Model):
    rubric = models.ForeignKey(Rubric, on_delete=models.CASCADE, related_name="dimensions")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    definition = models.TextField(blank=True)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rubric", "code"], name="dimension_rubric_code")
        ]
        ordering = ["order", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Level(models.Model):
    dimension = models.ForeignKey(Dimension, on_delete=models.CASCADE, related_name="levels")
    value = models.IntegerField()
    label = models.CharField(max_length=100)
    anchor = models.TextField(blank=True, help_text="What a coder looks for at this level.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "value"], name="level_dimension_value")
        ]
        ordering = ["value"]

    def __str__(self) -> str:
        return f"{self.value} {self.label}"


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        LOCKED = "locked", "Locked"
        UNBLINDED = "unblinded", "Unblinded"

    class Kind(models.TextChoices):
        ITEMS = "items", "Score items on the rubric"
        # Coders compare two transcripts of one prompt per dimension (coding.models_pairwise).
        PAIRWISE = "pairwise", "Pairwise comparisons"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ITEMS)
    description = models.TextField(blank=True)
    rubric = models.ForeignKey(Rubric, on_delete=models.PROTECT, related_name="studies")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    coders_per_item = models.PositiveSmallIntegerField(default=2)
    seed = models.BigIntegerField(default=0)
    deployment_context = models.TextField(
        blank=True, help_text="Deployment context C for claim reports; blank = unspecified."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(coders_per_item__gte=2), name="study_k_at_least_2")
        ]
        verbose_name_plural = "studies"

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Lead"
        CODER = "coder", "Coder"
        ADJUDICATOR = "adjudicator", "Adjudicator"
        # Runs generation and may read the conditions (each read logged) so that the
        # lead and adjudicator can stay blind; never codes or reconciles.
        OPERATOR = "operator", "Generation operator"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=12, choices=Role.choices)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "user"], name="membership_study_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} in {self.study}"


class Item(models.Model):
    class Kind(models.TextChoices):
        TRANSCRIPT = "transcript", "Transcript"
        DOCUMENT = "document", "Document"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    public_code = models.CharField(max_length=16, unique=True, default=new_public_code)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.TRANSCRIPT)
    external_id = models.CharField(max_length=200, blank=True)
    # What coders see, already scrubbed: {"messages": [{"role", "content"}]} or {"title", "text"}.
    content = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    redaction_count = models.PositiveIntegerField(default=0)
    redactions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "external_id"],
                condition=~Q(external_id=""),
                name="item_study_external_id",
            )
        ]
        # The lead's item browser pages through a study in code order (keyset).
        indexes = [models.Index(fields=["study", "public_code"], name="item_study_code")]

    def __str__(self) -> str:
        return self.public_code


class ConditionKey(models.Model):
    """The sealed key: which condition produced an item. Read only via services that log it."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="condition_key")
    model = models.CharField(max_length=200, blank=True)
    scaffold = models.CharField(max_length=100, blank=True)
    prompt = models.CharField(max_length=200, blank=True)
    specification = models.CharField(max_length=20, blank=True)
    replicate = models.PositiveIntegerField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"key for {self.item_id}"

    def condition_label(self) -> str:
        """The condition cell used for balancing: model x scaffold x specification."""
        return "|".join([self.model, self.scaffold, self.specification])


class Assignment(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        SUBMITTED = "submitted", "Submitted"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="assignments")
    coder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assignments"
    )
    position = models.PositiveIntegerField(help_text="Place in this coder's seeded random order.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    submitted_at = models.DateTimeField(null=True, blank=True)
    content_sha256 = models.CharField(max_length=64, blank=True)
    scores_sha256 = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "coder"], name="assignment_item_coder")
        ]
        indexes = [models.Index(fields=["coder", "status", "position"])]

    def __str__(self) -> str:
        return f"{self.item} -> {self.coder}"


class Score(models.Model):
    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="scores")
    dimension = models.ForeignKey(Dimension, on_delete=models.PROTECT, related_name="+")
    value = models.IntegerField(null=True, blank=True, help_text="Null while a draft is partial.")
    rationale = models.TextField(blank=True)
    rubric_version = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["assignment", "dimension"], name="score_assignment_dim")
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id}/{self.dimension_id}={self.value}"


class Reconciliation(models.Model):
    class Method(models.TextChoices):
        AGREED = "agreed", "Agreed"
        DISCUSSION = "discussion", "Discussion"
        ADJUDICATED = "adjudicated", "Adjudicated"

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="reconciliations")
    dimension = models.ForeignKey(Dimension, on_delete=models.PROTECT, related_name="+")
    value = models.IntegerField()
    method = models.CharField(max_length=12, choices=Method.choices)
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "dimension"], name="reconciliation_item_dim")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}/{self.dimension_id}={self.value} ({self.method})"


class Event(models.Model):
    """Append-only audit log. Never updated or deleted by the application."""

    study = models.ForeignKey(
        Study, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Verb(models.TextChoices):
        """Every action the log records, with the words the event log page shows."""

        STUDY_CREATE = "study_create", "Study created"
        MEMBER_ADD = "member_add", "Member added"
        INVITE_CREATE = "invite_create", "Invited"
        INVITE_RENEW = "invite_renew", "Invitation renewed"
        INVITE_REVOKE = "invite_revoke", "Invitation withdrawn"
        INVITE_ACCEPT = "invite_accept", "Invitation accepted"
        MEMBER_REMOVE = "member_remove", "Member removed"
        MEMBER_REPLACE = "member_replace", "Coder replaced"
        IMPORT = "import", "Items imported"
        ASSIGN = "assign", "Work assigned"
        STUDY_OPEN = "study_open", "Study opened"
        SUBMIT = "submit", "Item submitted"
        PAIR_SUBMIT = "pair_submit", "Pair judged"
        RECONCILE_AUTO = "reconcile_auto", "Auto-agreed"
        RECONCILE = "reconcile", "Reconciled"
        STUDY_LOCK = "study_lock", "Study locked"
        UNBLIND = "unblind", "Study unblinded"
        KEY_VIEW = "key_view", "Condition key read"
        KEY_UPDATE = "key_update", "Condition key updated"
        EXPORT = "export", "Export"
        CLAIM_EDIT = "claim_edit", "Claim report edited"
        BENCHMARK_AUDIT_CREATE = "benchmark_audit_create", "Benchmark audit created"
        BENCHMARK_ADD = "benchmark_add", "Benchmark added"
        BENCHMARK_EDIT = "benchmark_edit", "Benchmark edited"
        BENCHMARK_PROPOSE = "benchmark_propose", "Benchmark edit proposed"
        BENCHMARK_PROPOSAL_ACCEPTED = "benchmark_proposal_accepted", "Benchmark proposal accepted"
        BENCHMARK_PROPOSAL_REJECTED = "benchmark_proposal_rejected", "Benchmark proposal rejected"
        BLINDING_CHECK = "blinding_check", "Blinding check run"
        SCRUB_RULE_ADD = "scrub_rule_add", "Scrubber rule added"
        SCRUB_RULE_DELETE = "scrub_rule_delete", "Scrubber rule removed"
        GOLD_SET = "gold_set", "Gold item set"
        QUALITY_SETTINGS = "quality_settings", "Quality settings changed"
        QUALIFICATION = "qualification", "Qualification round decided"
        QUALIFICATION_RETRY = "qualification_retry", "Qualification retry allowed"
        JUDGE_RUN_START = "judge_run_start", "Model co-coder run started"
        JUDGE_RUN_CANCEL = "judge_run_cancel", "Model co-coder run cancelled"
        JUDGE_RUN_RETRY = "judge_run_retry", "Model co-coder run retried"
        JUDGE_INCLUDE = "judge_include", "Model co-coder inclusion changed"

    verb = models.CharField(max_length=40, choices=Verb.choices)
    target = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["at", "id"]
        # The event log pages through a study by id (keyset), newest first.
        indexes = [models.Index(fields=["study", "id"], name="event_study_id")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.verb} {self.target}"


def new_upload_token() -> str:
    return secrets.token_urlsafe(18)


class PendingUpload(models.Model):
    """An uploaded file waiting for its preview to be confirmed: items to import, or condition
    keys to set. Kept in the database (not on a web process's disk), so any process can
    confirm it; deleted when confirmed or discarded, and after a day."""

    class Kind(models.TextChoices):
        ITEMS = "items", "Items"
        KEY = "key", "Condition key"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=32, unique=True, default=new_upload_token)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    filename = models.CharField(max_length=200)
    raw = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    summary = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"{self.get_kind_display()} upload {self.filename} for study {self.study_id}"


class ScrubRule(models.Model):
    """A lead's study-level scrubbing rule, e.g. a name or phrase the blinding check found.

    Applied to every later import of the study, and to its items when added while the
    study is a draft (see ``coding.services.scrub_rules``).
    """

    class Kind(models.TextChoices):
        NAME = "name", "Name (every spelling)"
        PHRASE = "phrase", "Phrase (these words in order)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="scrub_rules")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    text = models.CharField(max_length=200)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    redactions = models.PositiveIntegerField(default=0, help_text="Made when it was added.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["study", "kind", "text"], name="scrubrule_unique")
        ]
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


from .models_gold import (  # noqa: E402, F401 - registered with the app
    GoldAssignment,
    GoldItem,
    GoldVersion,
    QualificationAttempt,
    QualitySettings,
)
from .models_pairwise import Pair, PairAssignment, PairJudgment  # noqa: E402, F401
from .models_people import Invite, MemberRemoval  # noqa: E402, F401 - registered with the app
from .models_tally import Disagreement, StudyTally  # noqa: E402, F401 - registered with the app
