from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.validators import URLValidator
from django.utils.text import get_valid_filename

from riskreg.lib.forms import BoundedChoicesMixin, size_in_words

from .models import Evaluation, Evidence, EvidenceKind
from .validators import check_upload

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


REASON_HELP = "Recorded in the history and shown on the decisions that cite it (at most 100 characters)."


class CitedChangeMixin:
    """On an evaluation that decisions beyond a draft cite, the form names them and asks why.

    `citing` lists those decisions; the view shows them before the form, with the sign-offs that
    will need re-affirmation. The reason becomes the history row's change reason.
    """

    cleaned_data: dict[str, Any]  # the form's, once it is valid

    def add_reason_field(self, evaluation):
        self.citing = list(evaluation.citing_decisions().select_related("framework_version")) if evaluation else []
        if self.citing:
            self.fields["change_reason"] = forms.CharField(
                label="Reason for the change", max_length=100, help_text=REASON_HELP,
                error_messages={"required": "These decisions cite this evaluation: say why you change it."},
            )  # fmt: skip

    def reason(self) -> str:
        return self.cleaned_data.get("change_reason", "").strip() if self.citing else ""


class EvaluationForm(CitedChangeMixin, BoundedChoicesMixin, forms.ModelForm):
    comparisons = forms.JSONField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Other models and human baselines, e.g. [{"subject": "Claude Opus 4.6", "value": 0.67}].',
    )

    class Meta:
        model = Evaluation
        fields = [
            "snapshot", "category", "threshold", "title", "kind", "run_by", "is_external", "started_on",
            "finished_on", "finding", "score", "score_unit", "score_note", "comparisons", "outcome", "confidence",
            "source_section", "source_mark", "source_note",
        ]  # fmt: skip
        widgets = {
            "started_on": DATE,
            "finished_on": DATE,
            "finding": forms.Textarea(attrs={"rows": 5}),
            "source_note": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["snapshot"].queryset = self.fields["snapshot"].queryset.select_related("model")
        self.fields["threshold"].queryset = self.fields["threshold"].queryset.select_related(
            "framework_version__framework"
        )
        self.fields["source_section"].required = True
        self.fields["source_section"].label = "Source section"
        self.add_reason_field(self.instance if self.instance.pk else None)

    def clean_comparisons(self):
        return self.cleaned_data["comparisons"] or []


def safe_display_name(name: str) -> str:
    try:
        return get_valid_filename(name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1])[-255:]
    except SuspiciousFileOperation:
        return "file"


class EvidenceForm(CitedChangeMixin, BoundedChoicesMixin, forms.ModelForm):
    """Attach a file, a link or a note. A correction names the piece it replaces; both stay."""

    kind = forms.ChoiceField(choices=EvidenceKind.choices, widget=forms.RadioSelect, initial=EvidenceKind.FILE)

    class Meta:
        model = Evidence
        fields = ["kind", "title", "file", "url", "note", "replaces"]
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}
        labels = {"url": "Link (https://…)", "replaces": "Corrects"}

    def __init__(self, *args, evaluation, **kwargs):
        super().__init__(*args, **kwargs)
        self.evaluation = evaluation
        self.fields["replaces"].queryset = evaluation.evidence.filter(replaced_by__isnull=True)
        self.fields["replaces"].required = False
        self.fields["replaces"].help_text = "Only for a correction: the piece this one replaces."
        self.fields["file"].help_text = (
            f"PDF, image, CSV, JSON, text, zip or Inspect .eval; at most "
            f"{size_in_words(settings.EVIDENCE_MAX_BYTES)}."
        )
        self.add_reason_field(evaluation)

    def clean_url(self):
        url = self.cleaned_data.get("url", "")
        if url:
            URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// address.")(url)
        return url

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        upload = cleaned.get("file")
        if kind == EvidenceKind.FILE:
            if not upload:
                self.add_error("file", "Choose the file to attach.")
            else:
                try:
                    self.instance.content_type = check_upload(upload, settings.EVIDENCE_MAX_BYTES)
                except forms.ValidationError as error:
                    self.add_error("file", error)
                else:
                    self.instance.original_name = safe_display_name(upload.name)
        elif kind == EvidenceKind.LINK and not cleaned.get("url"):
            self.add_error("url", "Give the link's address.")
        elif kind == EvidenceKind.NOTE and not cleaned.get("note"):
            self.add_error("note", "Write the note.")
        # Keep only what belongs to the chosen kind.
        if kind != EvidenceKind.FILE:
            cleaned["file"] = None
        if kind != EvidenceKind.LINK:
            cleaned["url"] = ""
        if kind != EvidenceKind.NOTE:
            cleaned["note"] = ""
        return cleaned
