from django import forms

from riskreg.evaluations.models import Evaluation
from riskreg.forms import BoundedChoicesMixin
from riskreg.frameworks.models import GovernanceTitle

from .models import Determination, GapAcknowledgement, ReleaseDecision, SignOffVerdict


class ReleaseDecisionForm(BoundedChoicesMixin, forms.ModelForm):
    class Meta:
        model = ReleaseDecision
        fields = [
            "snapshot", "framework_version", "reference", "title", "scope", "scope_details", "conditions",
            "rationale", "basis", "decided_by", "effective_date", "source_section", "source_mark", "source_note",
        ]  # fmt: skip
        widgets = {
            "effective_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "scope_details": forms.Textarea(attrs={"rows": 3}),
            "conditions": forms.Textarea(attrs={"rows": 3}),
            "rationale": forms.Textarea(attrs={"rows": 4}),
            "source_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["snapshot"].queryset = self.fields["snapshot"].queryset.select_related("model")
        self.fields["framework_version"].queryset = self.fields["framework_version"].queryset.select_related(
            "framework"
        )


class OnePerCategoryMixin:
    """A decision has one determination, and one gap acknowledgement, per category.

    The database's unique constraint names `decision`, which is not a field of these forms, so
    Django's own unique check skips it: say it here instead of letting the insert fail.
    """

    noun = ""

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        others = type(self.instance)._default_manager.filter(decision=self.instance.decision, category=category)
        if category and others.exclude(pk=self.instance.pk).exists():
            self.add_error("category", f"This decision already has {self.noun} for {category}: edit that one.")
        return cleaned


class DeterminationForm(OnePerCategoryMixin, BoundedChoicesMixin, forms.ModelForm):
    noun = "a determination"

    class Meta:
        model = Determination
        fields = ["category", "threshold", "verdict", "confidence", "residual_risk", "reasoning", "safeguards",
                  "cited_evaluations"]  # fmt: skip
        widgets = {
            "residual_risk": forms.Textarea(attrs={"rows": 2}),
            "reasoning": forms.Textarea(attrs={"rows": 3}),
            "safeguards": forms.Textarea(attrs={"rows": 2}),
            "cited_evaluations": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.decision = decision
        self.fields["threshold"].queryset = decision.framework_version.thresholds.select_related("category")
        self.fields["cited_evaluations"].queryset = Evaluation.objects.filter(
            snapshot=decision.snapshot
        ).select_related("category")
        self.fields["cited_evaluations"].help_text = "Evaluations of this snapshot that the determination rests on."

    def clean(self):
        cleaned = super().clean()
        category = cleaned.get("category")
        cited = cleaned.get("cited_evaluations") or []
        wrong = [e.title for e in cited if category and e.category_id != category.pk]
        if wrong:
            self.add_error("cited_evaluations", "Cite evaluations of the same category: " + "; ".join(wrong) + ".")
        return cleaned


class GapAcknowledgementForm(OnePerCategoryMixin, BoundedChoicesMixin, forms.ModelForm):
    noun = "a gap acknowledgement"

    class Meta:
        model = GapAcknowledgement
        fields = ["category", "rationale"]
        widgets = {"rationale": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.decision = decision


class SignOffForm(BoundedChoicesMixin, forms.Form):
    title = forms.ModelChoiceField(queryset=GovernanceTitle.objects.none(), empty_label=None, label="Signing as")
    verdict = forms.ChoiceField(choices=SignOffVerdict.choices, widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args, decision, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Only titles this decision needs and the signer holds; lifecycle.sign checks again.
        self.fields["title"].queryset = decision.framework_version.required_titles.filter(holders=user)
        self.fields["title"].help_text = "Only the required titles you hold are offered."

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("verdict") == SignOffVerdict.REJECT and not cleaned.get("comment", "").strip():
            self.add_error("comment", "Say why you reject it.")
        return cleaned


class ReaffirmForm(BoundedChoicesMixin, forms.Form):
    title = forms.ModelChoiceField(queryset=GovernanceTitle.objects.none(), empty_label=None, label="Re-affirming as")
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, help_text="Why the decision still holds."
    )

    def __init__(self, *args, decision, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].queryset = decision.framework_version.required_titles.filter(holders=user)
