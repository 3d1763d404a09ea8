"""Forms of the reliability pages (shape only; the statistics modules validate content)."""

from __future__ import annotations

from django import forms

from .forms import MAX_RANK_CSV_BYTES


class RankingCsvForm(forms.Form):
    KIND_CHOICES = [
        ("comparisons", "Pairwise outcomes: winner,loser[,count][,configuration]"),
        ("scores", "Scores per configuration: config,model,benchmark,score (higher wins)"),
    ]
    file = forms.FileField(help_text="UTF-8 CSV, at most 5 MB.")
    kind = forms.ChoiceField(choices=KIND_CHOICES, initial="comparisons", label="The file has")
    bootstrap = forms.IntegerField(
        min_value=0,
        max_value=2000,
        initial=200,
        help_text="Bootstrap draws for 95% intervals (0 = none; at most 2,000 here, more with "
        "the bradley_terry command).",
    )
    seed = forms.IntegerField(min_value=0, max_value=2**32 - 1, initial=1)

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_RANK_CSV_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB.")
        return upload
