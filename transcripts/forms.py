"""Forms for generation pages: shape only; rules live in services."""

from __future__ import annotations

import json

from django import forms

from alignweb.bounds import INT32_MAX, MAX_TOKENS, SEED_MAX

from .models import ModelEndpoint, PromptSet, Scaffold
from .selectors import scaffold_list_current


def _rpm_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000,
        label="Requests per minute",
        help_text="The provider's limit for your key, shared by all workers. Empty: none.",
    )


def _tpm_field() -> forms.IntegerField:
    return forms.IntegerField(
        required=False,
        min_value=1,
        max_value=1_000_000_000,
        label="Tokens per minute",
        help_text="Input plus maximum output tokens per minute, shared by all workers. "
        "Empty: none.",
    )


class EndpointForm(forms.Form):
    name = forms.CharField(max_length=120)
    provider = forms.ChoiceField(choices=ModelEndpoint.Provider.choices)
    base_url = forms.CharField(
        max_length=500,
        label="Base URL",
        widget=forms.URLInput(attrs={"placeholder": "https://api.openai.com/v1"}),
        help_text="OpenAI-compatible servers usually end in /v1; Anthropic's is "
        "https://api.anthropic.com. Private and link-local addresses are refused.",
    )
    model = forms.CharField(max_length=200, help_text="The model name the API expects.")
    api_key_env = forms.CharField(
        max_length=100,
        required=False,
        label="API key environment variable",
        widget=forms.TextInput(attrs={"placeholder": "OPENAI_API_KEY", "autocomplete": "off"}),
        help_text="The NAME of the variable that holds the key on the worker, never the key "
        "itself. Leave empty for local servers that need no key.",
    )
    max_concurrency = forms.IntegerField(
        min_value=1,
        max_value=256,
        initial=4,
        help_text="At most this many calls in flight to this endpoint, across all workers.",
    )
    timeout_seconds = forms.FloatField(min_value=0.1, max_value=3600, initial=60)
    price_input_per_mtok = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=4,
        label="Price per 1M input tokens (USD)",
    )
    price_output_per_mtok = forms.DecimalField(
        required=False,
        min_value=0,
        max_digits=10,
        decimal_places=4,
        label="Price per 1M output tokens (USD)",
    )
    requests_per_minute = _rpm_field()
    tokens_per_minute = _tpm_field()


class EndpointLimitsForm(forms.Form):
    """What can change on an existing endpoint: how hard it is used, and its prices."""

    max_concurrency = forms.IntegerField(
        min_value=1,
        max_value=256,
        label="Concurrency",
        help_text="At most this many calls in flight to this endpoint, across all workers.",
    )
    requests_per_minute = _rpm_field()
    tokens_per_minute = _tpm_field()
    timeout_seconds = forms.FloatField(min_value=0.1, max_value=3600, label="Timeout (seconds)")
    price_input_per_mtok = forms.DecimalField(
        required=False, min_value=0, label="Price per 1M input tokens (USD)"
    )
    price_output_per_mtok = forms.DecimalField(
        required=False, min_value=0, label="Price per 1M output tokens (USD)"
    )


class RunForm(forms.Form):
    name = forms.CharField(max_length=200)
    endpoints = forms.ModelMultipleChoiceField(
        queryset=ModelEndpoint.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    scaffolds = forms.ModelMultipleChoiceField(
        queryset=Scaffold.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    prompt_set = forms.ModelChoiceField(queryset=PromptSet.objects.all(), empty_label=None)
    max_prompts = forms.IntegerField(
        min_value=1,
        max_value=INT32_MAX,
        required=False,
        label="Use only the first N prompts",
        help_text="Leave empty to use the whole set.",
    )
    replicates = forms.IntegerField(min_value=1, max_value=50, initial=1)
    temperature = forms.FloatField(min_value=0, max_value=2, required=False)
    top_p = forms.FloatField(min_value=0, max_value=1, required=False, label="top_p")
    max_tokens = forms.IntegerField(
        min_value=1, max_value=MAX_TOKENS, required=False, label="max_tokens"
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=SEED_MAX,
        help_text="Sampling seed sent to the API; replicate r uses seed + r - 1.",
    )
    stop = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Stop sequences, one per line (at most four).",
    )
    extra = forms.CharField(
        required=False,
        label="Extra parameters (JSON)",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": '{"top_k": 40}'}),
        help_text="Sent in the request body (the SDKs' extra_body). No secrets here.",
    )
    confirm = forms.BooleanField(
        required=False, label="I have checked the size and cost: start this run"
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["endpoints"].queryset = ModelEndpoint.objects.filter(created_by=user)
        current = [s.pk for s in scaffold_list_current()]
        self.fields["scaffolds"].queryset = Scaffold.objects.filter(pk__in=current).order_by("code")
        self.fields["scaffolds"].label_from_instance = lambda s: f"{s.code} {s.name} (v{s.version})"
        self.fields["endpoints"].label_from_instance = lambda e: f"{e.name} · {e.model}"

    def clean_extra(self) -> dict:
        raw = self.cleaned_data.get("extra", "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc.msg}.")
        except RecursionError:
            raise forms.ValidationError("Not valid JSON: nested too deeply.")
        if not isinstance(value, dict):
            raise forms.ValidationError("Extra parameters must be a JSON object.")
        return value

    def clean_stop(self) -> list[str]:
        return [line for line in self.cleaned_data.get("stop", "").splitlines() if line.strip()]

    def config(self) -> dict:
        data = self.cleaned_data
        return {k: data.get(k) for k in ("temperature", "top_p", "max_tokens", "seed", "stop")} | {
            "extra": data.get("extra") or {}
        }


class StudyFromRunForm(forms.Form):
    name = forms.CharField(
        max_length=200,
        label="Study name",
        required=False,
        help_text="Coders see it: never name a model. Blank = a neutral dated name.",
    )
    coders_per_item = forms.IntegerField(min_value=2, max_value=10, initial=2)
    lead = forms.CharField(
        max_length=150,
        required=False,
        label="Lead (stays blind)",
        help_text="Username of the study's lead. You become its generation operator. "
        "Blank: you lead it, and this run is then sealed to you until unblinding.",
    )
