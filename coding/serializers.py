"""API serializers: shape only. Rules live in coding/services; reads in coding/selectors.

Write serializers are strict: a key that is not one of their fields is a 400, so a
client cannot smuggle ``coder``, ``status``, ``submitted_at`` or ``item`` into a write.
Coder-facing serializers carry no database id, timestamp or condition metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

from alignweb.bounds import ID, INT32, INT32_MAX, SEED_MAX

from .models import (
    Assignment,
    Dimension,
    Item,
    Level,
    Membership,
    Reconciliation,
    Rubric,
    Study,
)
from .services.scoring import MAX_RATIONALE


class NamedChoiceField(serializers.ChoiceField):
    """A ChoiceField documented as its own named enum component (see the extension below)."""

    def __init__(self, *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    """Several apps have fields called ``status``, ``role`` or ``kind`` with different
    choices; drf-spectacular's shared enum naming would collide (a schema warning). These
    fields reference an explicitly named component instead, which the enum hook skips."""

    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: str) -> dict:
        field = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": "\n".join(f"* `{k}` - {v}" for k, v in field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


def named_choice(enum_name: str, choices: list[tuple[str, str]]) -> Any:
    """A field factory: ``StudyStatusField(source=...)`` etc."""

    def make(**kwargs: Any) -> NamedChoiceField:
        return NamedChoiceField(enum_name=enum_name, choices=choices, **kwargs)

    return make


StudyStatusField = named_choice("StudyStatusEnum", Study.Status.choices)
RoleField = named_choice("MembershipRoleEnum", Membership.Role.choices)
KindField = named_choice("ItemKindEnum", Item.Kind.choices)
AssignmentStatusField = named_choice("AssignmentStatusEnum", Assignment.Status.choices)


class StrictSerializer(serializers.Serializer):
    """Rejects unknown keys instead of silently ignoring them (mass-assignment guard)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {str(key)[:50]: ["Unknown or read-only field."] for key in unknown[:20]}
                )
        return super().to_internal_value(data)


# --- rubrics -------------------------------------------------------------------------


class LevelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Level
        fields = ["value", "label", "anchor"]


class DimensionSerializer(serializers.ModelSerializer):
    levels = LevelSerializer(many=True, read_only=True)

    class Meta:
        model = Dimension
        fields = ["code", "name", "definition", "order", "levels"]


class RubricBriefSerializer(serializers.ModelSerializer):
    """A rubric as coders need it to score: no database id."""

    dimensions = DimensionSerializer(many=True, read_only=True)

    class Meta:
        model = Rubric
        fields = ["name", "version", "description", "dimensions"]


class RubricListSerializer(serializers.ModelSerializer):
    class Meta:
        model = Rubric
        fields = ["id", "name", "version", "description", "frozen"]


class RubricSerializer(serializers.ModelSerializer):
    dimensions = DimensionSerializer(many=True, read_only=True)

    class Meta:
        model = Rubric
        fields = ["id", "name", "version", "description", "frozen", "dimensions"]


class LevelWriteSerializer(StrictSerializer):
    value = serializers.IntegerField(min_value=INT32[0], max_value=INT32[1])
    label = serializers.CharField(max_length=100, required=False)
    anchor = serializers.CharField(allow_blank=True, required=False, max_length=5000)


class DimensionWriteSerializer(StrictSerializer):
    code = serializers.CharField(max_length=20)
    name = serializers.CharField(max_length=200, required=False)
    definition = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    order = serializers.IntegerField(min_value=0, max_value=INT32_MAX, required=False)
    levels = LevelWriteSerializer(many=True)


class RubricImportSerializer(StrictSerializer):
    """The JSON a rubric export produces; ``version`` is informative (the server numbers)."""

    name = serializers.CharField(max_length=200)
    version = serializers.IntegerField(min_value=1, max_value=INT32_MAX, required=False)
    description = serializers.CharField(allow_blank=True, required=False, max_length=5000)
    dimensions = DimensionWriteSerializer(many=True)


class RubricExportSerializer(serializers.Serializer):
    """Documents the export format (same shape rubric import accepts)."""

    name = serializers.CharField()
    version = serializers.IntegerField()
    description = serializers.CharField()
    dimensions = DimensionSerializer(many=True)


# --- studies ---------------------------------------------------------------------------


class StudyListSerializer(serializers.Serializer):
    """One row per study the caller belongs to, built from their Membership."""

    id = serializers.IntegerField(source="study.pk")
    name = serializers.CharField(source="study.name")
    status = StudyStatusField(source="study.status")
    role = RoleField()
    rubric = serializers.CharField(source="study.rubric")


class StudyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(allow_blank=True, required=False, default="")
    rubric = serializers.PrimaryKeyRelatedField(
        queryset=Rubric.objects.all(),
        pk_field=serializers.IntegerField(min_value=ID[0], max_value=ID[1]),
    )
    coders_per_item = serializers.IntegerField(min_value=2, max_value=10, default=2)
    seed = serializers.IntegerField(
        min_value=0, max_value=SEED_MAX, required=False, allow_null=True
    )
    kind = serializers.ChoiceField(choices=Study.Kind.choices, default=Study.Kind.ITEMS)


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField()


class CoderProgressSerializer(ProgressSerializer):
    username = serializers.CharField()


class StudySummarySerializer(serializers.Serializer):
    items = serializers.IntegerField()
    redactions = serializers.IntegerField()
    assignments = serializers.IntegerField()
    submitted = serializers.IntegerField()
    items_complete = serializers.IntegerField()


class StudyLeadSerializer(serializers.Serializer):
    """What only a study's lead sees on the study detail."""

    rubric_id = serializers.IntegerField()
    seed = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    summary = StudySummarySerializer()
    progress = CoderProgressSerializer(many=True)
    redactions_by_rule = serializers.DictField(child=serializers.IntegerField())


class StudyDetailSerializer(serializers.Serializer):
    """Role-aware study detail: ``my_progress`` for coders, ``lead`` for leads, else null."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    status = StudyStatusField()
    role = RoleField()
    coders_per_item = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Study.Kind.choices)
    rubric = RubricBriefSerializer()
    my_progress = ProgressSerializer(allow_null=True)
    lead = StudyLeadSerializer(allow_null=True)


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    role = RoleField()


class MemberWriteSerializer(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = RoleField()


class ImportUploadSerializer(StrictSerializer):
    file = serializers.FileField(help_text="JSONL or CSV; every row is checked first.")


class ImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    redactions = serializers.IntegerField()
    redactions_by_rule = serializers.DictField(child=serializers.IntegerField())


class ImportErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = serializers.ListField(child=serializers.CharField())


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


# --- items -----------------------------------------------------------------------------


class ItemCoderSerializer(serializers.ModelSerializer):
    """The blinded item: opaque code, kind and scrubbed content. Nothing else."""

    kind = KindField()
    content = serializers.JSONField()

    class Meta:
        model = Item
        fields = ["public_code", "kind", "content"]


class ItemLeadListSerializer(serializers.ModelSerializer):
    kind = KindField()

    class Meta:
        model = Item
        fields = ["public_code", "kind", "external_id", "redaction_count", "redactions"]


class ItemLeadSerializer(serializers.ModelSerializer):
    kind = KindField()
    content = serializers.JSONField()

    class Meta:
        model = Item
        fields = [
            "public_code",
            "kind",
            "external_id",
            "redaction_count",
            "redactions",
            "content_sha256",
            "content",
        ]


class ConditionKeySerializer(serializers.Serializer):
    item = serializers.CharField()
    model = serializers.CharField()
    scaffold = serializers.CharField()
    prompt = serializers.CharField()
    specification = serializers.CharField()
    replicate = serializers.IntegerField(allow_null=True)
    metadata = serializers.DictField()


def condition_key_row(code: str, key: Any) -> dict[str, Any]:
    """One row of the condition key (blank cells when an item has no key)."""
    return {
        "item": code,
        "model": key.model if key else "",
        "scaffold": key.scaffold if key else "",
        "prompt": key.prompt if key else "",
        "specification": key.specification if key else "",
        "replicate": key.replicate if key else None,
        "metadata": key.metadata if key else {},
    }


# --- assignments and scores --------------------------------------------------------------


class AssignmentListSerializer(serializers.Serializer):
    """A row of the coder's own queue: item code, kind, status, version. No ids."""

    item = serializers.CharField(source="item.public_code")
    kind = KindField(source="item.kind")
    status = AssignmentStatusField()
    version = serializers.IntegerField()


class ScoreEntrySerializer(StrictSerializer):
    value = serializers.IntegerField(
        allow_null=True, required=False, min_value=INT32[0], max_value=INT32[1]
    )
    rationale = serializers.CharField(
        allow_blank=True, required=False, max_length=MAX_RATIONALE, trim_whitespace=False
    )


class AssignmentDetailSerializer(serializers.Serializer):
    """The coder's own assignment: the blinded item and their own scores only."""

    item = ItemCoderSerializer()
    status = AssignmentStatusField()
    version = serializers.IntegerField()
    scores = serializers.DictField(child=ScoreEntrySerializer())


class ScoresWriteSerializer(StrictSerializer):
    """A draft save or submit. ``version`` is the version the client last saw (optimistic
    locking), never a value to store; the server moves it."""

    version = serializers.IntegerField(min_value=0, max_value=INT32_MAX)
    scores = serializers.DictField(child=ScoreEntrySerializer(), allow_empty=True)


def scores_payload(scores: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Score rows keyed by dimension code, as ``{"D1": {"value": 2, "rationale": "..."}}``."""
    return {
        code: {"value": score.value, "rationale": score.rationale}
        for code, score in sorted(scores.items())
    }


def scores_payload_from_values(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The payload of scores as ``score_submit`` stores them from validated ``values``
    (coding/services/scoring.py ``_clean``: the value as an int, rationale "" if absent)."""
    return {
        code: {"value": int(entry["value"]), "rationale": str(entry.get("rationale") or "")}
        for code, entry in sorted(values.items())
    }


# --- reconciliation, lock, unblind ----------------------------------------------------------

MethodField = named_choice("ReconciliationMethodEnum", Reconciliation.Method.choices)


class QueueEntrySerializer(serializers.Serializer):
    """One (item, dimension) whose submitted first-pass values differ. No coder names."""

    item = serializers.CharField(source="item_code")
    dimension = serializers.CharField(source="dimension_code")
    dimension_name = serializers.CharField()
    low = serializers.IntegerField()
    high = serializers.IntegerField()
    spread = serializers.IntegerField()
    coders = serializers.IntegerField()
    reconciled_value = serializers.IntegerField(allow_null=True)
    reconciled_method = MethodField(allow_null=True)


class DecisionSerializer(serializers.ModelSerializer):
    """A recorded decision. ``id`` is its version: send it back as ``expected_id``."""

    dimension = serializers.CharField(source="dimension.code")
    method = MethodField()
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True)

    class Meta:
        model = Reconciliation
        fields = ["id", "dimension", "value", "method", "note", "decided_by", "decided_at"]


class CoderScoreSerializer(serializers.Serializer):
    coder = serializers.CharField(source="label", help_text='Anonymised: "Coder A", ...')
    value = serializers.IntegerField(allow_null=True)
    rationale = serializers.CharField()


class DimensionPanelSerializer(serializers.Serializer):
    code = serializers.CharField(source="dimension.code")
    name = serializers.CharField(source="dimension.name")
    levels = LevelSerializer(source="dimension.levels", many=True)
    scores = CoderScoreSerializer(many=True)
    spread = serializers.IntegerField()
    disagreement = serializers.BooleanField()
    decision = DecisionSerializer(allow_null=True)


class ReconcileItemSerializer(serializers.Serializer):
    """Side by side: the blinded item and every submitted first-pass score, anonymised."""

    item = ItemCoderSerializer()
    coders = serializers.ListField(child=serializers.CharField(), source="coder_labels")
    assigned = serializers.IntegerField()
    submitted = serializers.IntegerField()
    complete = serializers.BooleanField()
    open_disagreements = serializers.IntegerField()
    dimensions = DimensionPanelSerializer(many=True)


class DecideSerializer(StrictSerializer):
    """A decision for one dimension. ``expected_id``: the id of the decision you saw
    (null if none); a different current decision is a 409, never an overwrite."""

    dimension = serializers.CharField(max_length=20)
    value = serializers.IntegerField(min_value=INT32[0], max_value=INT32[1])
    method = MethodField(default=Reconciliation.Method.ADJUDICATED)
    note = serializers.CharField(allow_blank=True, required=False, default="", max_length=5000)
    expected_id = serializers.IntegerField(
        allow_null=True, required=False, default=None, min_value=ID[0], max_value=ID[1]
    )


class AutoAgreeResultSerializer(serializers.Serializer):
    added = serializers.IntegerField()


class LockSerializer(StrictSerializer):
    override = serializers.BooleanField(default=False)
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


class UnblindSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=2000)
