from django import forms
from django.conf import settings

from riskreg.evaluations.models import Snapshot
from riskreg.frameworks.models import ThreatCategory
from riskreg.lib.forms import BoundedChoicesMixin, size_in_words

from .inspect import InspectLogError
from .service import OutcomeRule

MAX_FILES = 50


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern for `<input type=file multiple>`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if not files:
            return super().clean(None, initial)  # "This field is required."
        if len(files) > MAX_FILES:
            raise forms.ValidationError(f"At most {MAX_FILES} files at once; import a larger eval set from the "
                                        "command line (it takes a folder).")  # fmt: skip
        return [super(MultipleFileField, self).clean(file, initial) for file in files]


class SnapshotChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} (id {obj.pk})"


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj} ({obj.slug})"


class RuleMixin:
    def clean_rule(self):
        try:
            return OutcomeRule.parse(self.cleaned_data["rule"])
        except InspectLogError as error:
            raise forms.ValidationError(str(error)) from None


class ImportForm(RuleMixin, BoundedChoicesMixin, forms.Form):
    log = MultipleFileField(
        label="Inspect logs",
        help_text="One or more .json or .eval logs written by inspect-ai; for an eval set, choose its logs and its "
        "logs.json / eval-set.json together.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["log"].help_text += f" At most {size_in_words(settings.IMPORT_MAX_BYTES)} per upload."
    snapshot = SnapshotChoiceField(queryset=Snapshot.objects.select_related("model"))
    category = CategoryChoiceField(queryset=ThreatCategory.objects.all())
    rule = forms.CharField(
        required=False, label="Outcome rule",
        help_text="Optional, on a metric's full name as the preview lists them, e.g. match/accuracy>=0.5: at or "
        "above it a finished run is recorded as signal met, below it as below threshold.",
    )  # fmt: skip


class ConfirmForm(RuleMixin, BoundedChoicesMixin, forms.Form):
    token = forms.RegexField(regex=r"^[0-9a-f]{32}$", widget=forms.HiddenInput)
    snapshot = forms.ModelChoiceField(queryset=Snapshot.objects.all(), widget=forms.HiddenInput)
    category = forms.ModelChoiceField(queryset=ThreatCategory.objects.all(), widget=forms.HiddenInput)
    rule = forms.CharField(required=False, widget=forms.HiddenInput)
    allow_other_model = forms.BooleanField(
        required=False,
        label="I confirm: record these runs for this snapshot although the log names another model",
    )
