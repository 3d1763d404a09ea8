"""API serializers for generation: shape only; rules live in services."""

from __future__ import annotations

from rest_framework import serializers

from alignweb.bounds import ID, INT32_MAX, MAX_TOKENS, SEED_MAX

from .models import GenerationRun, ModelEndpoint, Prompt, PromptSet, Scaffold, Transcript


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = ModelEndpoint
        fields = [
            "id",
            "name",
            "provider",
            "base_url",
            "model",
            "api_key_env",
            "max_concurrency",
            "timeout_seconds",
            "price_input_per_mtok",
            "price_output_per_mtok",
            "requests_per_minute",
            "tokens_per_minute",
            "default_params",
            "created_at",
        ]
        read_only_fields = fields


class EndpointCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    provider = serializers.ChoiceField(choices=ModelEndpoint.Provider.choices)
    base_url = serializers.CharField(max_length=500)
    model = serializers.CharField(max_length=200)
    api_key_env = serializers.CharField(max_length=100, required=False, allow_blank=True)
    max_concurrency = serializers.IntegerField(min_value=1, max_value=256, default=4)
    timeout_seconds = serializers.FloatField(min_value=0.1, max_value=3600, default=60.0)
    price_input_per_mtok = serializers.DecimalField(
        max_digits=10, decimal_places=4, required=False, allow_null=True, min_value=0
    )
    price_output_per_mtok = serializers.DecimalField(
        max_digits=10, decimal_places=4, required=False, allow_null=True, min_value=0
    )
    default_params = serializers.DictField(required=False)
    requests_per_minute = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, allow_null=True
    )
    tokens_per_minute = serializers.IntegerField(
        min_value=1, max_value=1_000_000_000, required=False, allow_null=True
    )


class ScaffoldSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scaffold
        fields = [
            "id",
            "code",
            "name",
            "version",
            "description",
            "system_prompt",
            "sha256",
            "target_dimensions",
        ]
        read_only_fields = fields


class PromptSerializer(serializers.ModelSerializer):
    class Meta:
        model = Prompt
        fields = ["id", "code", "version", "specification", "text", "sha256"]
        read_only_fields = fields


class PromptSetSerializer(serializers.ModelSerializer):
    prompts = serializers.SerializerMethodField()

    class Meta:
        model = PromptSet
        fields = ["id", "name", "description", "prompts"]
        read_only_fields = fields

    def get_prompts(self, obj: PromptSet) -> list[dict]:
        from .selectors import prompt_list_current

        return PromptSerializer(prompt_list_current(obj), many=True).data


class ConfigSerializer(serializers.Serializer):
    temperature = serializers.FloatField(min_value=0, max_value=2, required=False, allow_null=True)
    top_p = serializers.FloatField(min_value=0, max_value=1, required=False, allow_null=True)
    max_tokens = serializers.IntegerField(
        min_value=1, max_value=MAX_TOKENS, required=False, allow_null=True
    )
    seed = serializers.IntegerField(
        min_value=0, max_value=SEED_MAX, required=False, allow_null=True
    )
    stop = serializers.ListField(
        child=serializers.CharField(), required=False, max_length=4, allow_empty=True
    )
    extra = serializers.DictField(required=False)


class PolicySerializer(serializers.Serializer):
    max_attempts = serializers.IntegerField(min_value=1, max_value=20, required=False)
    max_total_seconds = serializers.FloatField(min_value=1, max_value=86_400, required=False)
    base_delay = serializers.FloatField(min_value=0, max_value=600, required=False)
    max_delay = serializers.FloatField(min_value=0, max_value=3600, required=False)
    lease_seconds = serializers.FloatField(min_value=1, max_value=7200, required=False)


class RunCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    endpoints = serializers.ListField(
        child=serializers.IntegerField(min_value=ID[0], max_value=ID[1]),
        min_length=1,
        max_length=100,
    )
    scaffolds = serializers.ListField(
        child=serializers.IntegerField(min_value=ID[0], max_value=ID[1]),
        min_length=1,
        max_length=100,
    )
    prompt_set = serializers.IntegerField(min_value=ID[0], max_value=ID[1])
    replicates = serializers.IntegerField(min_value=1, max_value=50, default=1)
    max_prompts = serializers.IntegerField(
        min_value=1, max_value=INT32_MAX, required=False, allow_null=True
    )
    seed = serializers.IntegerField(
        min_value=0, max_value=SEED_MAX, required=False, allow_null=True
    )
    config = ConfigSerializer(required=False)
    policy = PolicySerializer(required=False)


class StudyFromRunSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    lead = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    coders_per_item = serializers.IntegerField(min_value=2, max_value=10, default=2)
    seed = serializers.IntegerField(
        min_value=0, max_value=SEED_MAX, required=False, allow_null=True
    )


class RunSerializer(serializers.ModelSerializer):
    endpoints = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    scaffolds = serializers.SerializerMethodField()
    prompt_set = serializers.CharField(source="prompt_set.name", read_only=True)
    study = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = GenerationRun
        fields = [
            "id",
            "name",
            "status",
            "endpoints",
            "scaffolds",
            "prompt_set",
            "replicates",
            "config",
            "policy",
            "seed",
            "code_commit",
            "code_dirty",
            "study",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_scaffolds(self, obj: GenerationRun) -> list[str]:
        return [f"{s.code} v{s.version}" for s in obj.scaffolds.order_by("code")]


class TranscriptSerializer(serializers.ModelSerializer):
    endpoint = serializers.CharField(source="endpoint.name")
    scaffold = serializers.CharField(source="scaffold.code")
    prompt = serializers.CharField(source="prompt.code")
    specification = serializers.CharField(source="prompt.specification")

    class Meta:
        model = Transcript
        fields = [
            "id",
            "endpoint",
            "scaffold",
            "prompt",
            "specification",
            "replicate",
            "state",
            "attempts",
            "last_error",
            "response_text",
            "input_tokens",
            "output_tokens",
            "latency_ms",
            "provenance",
            "attempt_log",
        ]
        read_only_fields = fields
