"""The lead's form to start a model co-coder run (shape only; the service validates)."""

from __future__ import annotations

from django import forms

from .models import ModelEndpoint


class JudgeRunForm(forms.Form):
    endpoint = forms.ModelChoiceField(
        queryset=ModelEndpoint.objects.none(),
        help_text="One of your model endpoints. It scores every item like a blinded coder.",
    )
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.0)
    max_tokens = forms.IntegerField(min_value=64, max_value=16_000, initial=1024)
    format_attempts = forms.IntegerField(
        min_value=1,
        max_value=5,
        initial=3,
        help_text="Malformed replies are retried (with the reason) this many times in all.",
    )

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["endpoint"].queryset = ModelEndpoint.objects.filter(created_by=user)
