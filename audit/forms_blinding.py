"""The lead's scrubbing-rule form on the blinding page (shape only; rules in the service)."""

from django import forms

from coding.models import ScrubRule


class ScrubRuleForm(forms.Form):
    kind = forms.ChoiceField(choices=ScrubRule.Kind.choices, initial=ScrubRule.Kind.PHRASE)
    text = forms.CharField(
        max_length=200,
        label="Name or phrase",
        help_text="Matched in any case, spacing and look-alike spelling.",
    )
