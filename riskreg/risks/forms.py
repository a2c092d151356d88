from django import forms
from django.contrib.auth import get_user_model
from django.core.validators import ProhibitNullCharactersValidator

from riskreg.lib.forms import BoundedChoicesMixin
from riskreg.lib.text import single_line

from .models import Risk, Score


class RiskForm(BoundedChoicesMixin, forms.ModelForm):
    inherent_likelihood = forms.TypedChoiceField(
        choices=Score.choices, coerce=int, help_text="1 (rare) to 5 (almost certain)"
    )
    inherent_impact = forms.TypedChoiceField(
        choices=Score.choices, coerce=int, help_text="1 (minor) to 5 (catastrophic)"
    )
    residual_likelihood = forms.TypedChoiceField(choices=Score.choices, coerce=int, help_text="After mitigation.")
    residual_impact = forms.TypedChoiceField(choices=Score.choices, coerce=int, help_text="After mitigation.")

    class Meta:
        model = Risk
        fields = [
            "code", "title", "category", "description", "inherent_likelihood", "inherent_impact",
            "residual_likelihood", "residual_impact", "treatment", "mitigations", "owner_user", "owner", "status",
            "next_review", "review_interval_days",
            "confidence", "evaluations", "source_section", "source_mark", "source_note",
        ]  # fmt: skip
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "mitigations": forms.Textarea(attrs={"rows": 3}),
            "source_note": forms.Textarea(attrs={"rows": 2}),
            "next_review": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "evaluations": forms.SelectMultiple(attrs={"size": 8}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["evaluations"].queryset = self.fields["evaluations"].queryset.select_related("snapshot__model")
        users = get_user_model().objects.filter(is_active=True).order_by("username")
        if self.instance.owner_user_id:  # a deactivated owner stays choosable on their own risks
            users = users | get_user_model().objects.filter(pk=self.instance.owner_user_id)
        self.fields["owner_user"].queryset = users


class RiskReviewForm(forms.Form):
    """The optional note of a review: one line, kept as the reason of the review's history row."""

    note = forms.CharField(label="Review note", max_length=90, required=False, validators=[single_line])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # single_line names a NUL itself: Django's own "Null characters are not allowed." would say it twice.
        note = self.fields["note"]
        note.validators = [v for v in note.validators if not isinstance(v, ProhibitNullCharactersValidator)]
