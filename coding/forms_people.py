"""Forms for the people, item-browser and event pages: shape only (rules are in services)."""

from __future__ import annotations

from django import forms

from coding.selectors.items import STATES

from .invites import DEFAULT_TTL_DAYS, MAX_TTL_DAYS
from .models import Membership


class InviteForm(forms.Form):
    emails = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=40_000,
        help_text="One email per line, optionally followed by a role: ana@lab.org, adjudicator",
    )
    role = forms.ChoiceField(
        choices=Membership.Role.choices,
        initial=Membership.Role.CODER,
        help_text="Role for lines that name none.",
    )
    expires_days = forms.IntegerField(
        min_value=1,
        max_value=MAX_TTL_DAYS,
        initial=DEFAULT_TTL_DAYS,
        help_text=f"Each link works once and expires after this many days (1-{MAX_TTL_DAYS}).",
    )


class AcceptForm(forms.Form):
    username = forms.CharField(max_length=150)
    password1 = forms.CharField(widget=forms.PasswordInput, max_length=4096)
    password2 = forms.CharField(widget=forms.PasswordInput, max_length=4096)

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return cleaned


class RemoveForm(forms.Form):
    replacement = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, required=False
    )

    def __init__(self, *args, candidates=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["replacement"].choices = [("", "Spread across the remaining coders")] + [
            (str(m.user_id), m.user.get_username()) for m in candidates
        ]


class ItemFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=20)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *STATES.items()])
    coder = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, coders=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["coder"].choices = [("", "Any coder")] + [(str(i), n) for i, n in coders]


class EventFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False)
    action = forms.ChoiceField(required=False)
    item = forms.CharField(required=False, max_length=20)
    date_from = forms.DateField(required=False)
    date_to = forms.DateField(required=False)

    def __init__(self, *args, actors=(), actions=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *actors]
        self.fields["action"].choices = [("", "Any action"), *actions]
