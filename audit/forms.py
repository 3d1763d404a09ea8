"""Audit forms: shape validation only; the rules live in audit/services.py."""

from __future__ import annotations

from django import forms
from django.db.models.functions import Lower

from coding.models import Rubric

from .models import Benchmark

MAX_RANK_CSV_BYTES = 5 * 1024 * 1024


class BenchmarkForm(forms.ModelForm):
    url = forms.URLField(label="URL", required=False, assume_scheme="https", max_length=200)

    class Meta:
        model = Benchmark
        fields = [
            "name",
            "year",
            "claim_level",
            "url",
            "citation",
            "citation_verified",
            "description",
            "notes",
        ]
        widgets = {
            "citation": forms.Textarea(attrs={"rows": 2}),
            "description": forms.Textarea(attrs={"rows": 4}),
            "notes": forms.Textarea(attrs={"rows": 2}),
        }
        help_texts = {
            "description": "What coders read when auditing it: what the benchmark asks of a "
            "model and how it is scored. Neutral; no scores.",
            "claim_level": "The level of claim its results can support.",
            "citation_verified": "Tick only after checking the citation against the source.",
        }
        labels = {"citation_verified": "Citation verified"}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["claim_level"].choices = [("", "Not classified"), *Benchmark.ClaimLevel.choices]

    def validate_unique(self) -> None:
        """Uniqueness is checked by the service (case-insensitively)."""


class ProposalForm(BenchmarkForm):
    """An edit proposed for an entry the proposer may not edit (fields + why)."""

    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        label="Why",
        help_text="What is wrong or missing, with a source; whoever decides reads this.",
    )


class BenchmarkCopyForm(forms.Form):
    name = forms.CharField(
        max_length=200, required=False, help_text="Blank: the entry's name with yours."
    )


class BenchmarkAuditForm(forms.Form):
    name = forms.CharField(max_length=200, initial="Benchmark audit")
    benchmarks = forms.ModelMultipleChoiceField(
        queryset=Benchmark.objects.order_by(Lower("name")),
        widget=forms.CheckboxSelectMultiple,
        help_text="Each benchmark becomes one document item, coded on the rubric.",
    )
    rubric = forms.ModelChoiceField(queryset=Rubric.objects.all(), empty_label=None)
    coders_per_item = forms.IntegerField(min_value=2, max_value=10, initial=2)


class RankCsvForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with header config,model,benchmark,score (higher is better)."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RANK_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload


class ClaimForm(forms.Form):
    claim = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="The claim this study is meant to support, in one or two sentences.",
    )
    claim_level = forms.ChoiceField(
        choices=[("", "Not stated"), *Benchmark.ClaimLevel.choices], required=False
    )
    deployment_context = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Deployment context C",
        help_text="Who uses the system, for what, under which constraints. Blank = unspecified.",
    )
    model_evidence = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Model-level evidence",
        help_text="Model-level results cited beside this study (runs, leaderboards).",
    )
    benchmarks = forms.ModelMultipleChoiceField(
        queryset=Benchmark.objects.order_by(Lower("name")),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Benchmarks cited as model-level evidence",
    )
