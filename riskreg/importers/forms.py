from django import forms

from riskreg.evaluations.models import Snapshot
from riskreg.forms import BoundedChoicesMixin
from riskreg.frameworks.models import ThreatCategory

from .inspect import InspectLogError
from .service import OutcomeRule


class ImportForm(BoundedChoicesMixin, forms.Form):
    log = forms.FileField(label="Inspect log", help_text="A .json or .eval log written by inspect-ai.")
    snapshot = forms.ModelChoiceField(queryset=Snapshot.objects.select_related("model"))
    category = forms.ModelChoiceField(queryset=ThreatCategory.objects.all())
    rule = forms.CharField(
        required=False, label="Outcome rule",
        help_text="Optional, e.g. accuracy>=0.5: at or above it the run is recorded as signal met.",
    )  # fmt: skip

    def clean_rule(self):
        try:
            return OutcomeRule.parse(self.cleaned_data["rule"])
        except InspectLogError as error:
            raise forms.ValidationError(str(error)) from None


class ConfirmForm(BoundedChoicesMixin, forms.Form):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    snapshot = forms.ModelChoiceField(queryset=Snapshot.objects.all(), widget=forms.HiddenInput)
    category = forms.ModelChoiceField(queryset=ThreatCategory.objects.all(), widget=forms.HiddenInput)
    rule = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean_rule(self):
        try:
            return OutcomeRule.parse(self.cleaned_data["rule"])
        except InspectLogError as error:
            raise forms.ValidationError(str(error)) from None
