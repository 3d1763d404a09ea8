from django import forms

from alignweb.bounds import SEED_MAX

from .models import Membership, Rubric, Study


class StudyForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea, required=False)
    rubric = forms.ModelChoiceField(queryset=Rubric.objects.all(), empty_label=None)
    kind = forms.ChoiceField(
        choices=Study.Kind.choices,
        initial=Study.Kind.ITEMS,
        required=False,  # absent: an ordinary study (older clients post no kind)
        help_text="Pairwise: coders compare two transcripts of one prompt (same scaffold, "
        "different models) and choose A, B or tie per dimension.",
    )
    coders_per_item = forms.IntegerField(
        min_value=2, max_value=10, initial=2, help_text="Each item is coded by k distinct coders."
    )
    seed = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=SEED_MAX,
        help_text="Random seed for assignment; blank = random.",
    )


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Membership.Role.choices)


class ImportForm(forms.Form):
    file = forms.FileField(help_text="JSONL or CSV; every row is checked before anything is saved.")


class RubricImportForm(forms.Form):
    file = forms.FileField(help_text="A rubric exported as JSON.")
