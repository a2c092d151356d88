import datetime

from django import forms
from django.utils import timezone

from riskreg.lib.forms import BoundedChoicesMixin

from .models import FilingKind, Incident, IncidentReport
from .rules import REPORT_KINDS, rules


class MomentInput(forms.DateTimeInput):
    """A date and time typed in UTC (the app's time; the clocks convert to each regime's own zone)."""

    input_type = "datetime-local"

    def __init__(self):
        super().__init__(format="%Y-%m-%dT%H:%M")


class IncidentForm(BoundedChoicesMixin, forms.ModelForm):
    kinds = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, help_text="What kind of incident it is.")
    jurisdictions = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple, required=False,
        help_text="The regimes it falls under: each starts its own clocks.",
    )  # fmt: skip

    class Meta:
        model = Incident
        fields = [
            "title", "statement", "kinds", "jurisdictions", "model", "snapshot", "started_at", "ended_at", "aware_at",
            "resolved_at", "why_reportable", "harm", "chain_of_events", "model_involvement", "internal_use",
            "actions_taken", "actions_intended", "recommendations", "root_cause", "related_near_misses",
            "evaluations", "risks", "decisions", "source_section", "source_mark", "source_note",
        ]  # fmt: skip
        widgets = {name: MomentInput() for name in ("started_at", "ended_at", "aware_at", "resolved_at")} | {
            name: forms.Textarea(attrs={"rows": 3})
            for name in ("statement", "why_reportable", "harm", "chain_of_events", "model_involvement",
                         "actions_taken", "actions_intended", "recommendations", "root_cause", "related_near_misses",
                         "source_note")
        } | {name: forms.SelectMultiple(attrs={"size": 6})
             for name in ("evaluations", "risks", "decisions")}  # fmt: skip
        help_texts = {name: "In UTC." for name in ("started_at", "ended_at", "resolved_at")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kinds"].choices = rules().kind_choices()
        self.fields["jurisdictions"].choices = rules().regime_choices()
        self.fields["aware_at"].help_text = "In UTC. When you became aware of it: the clocks start here."
        self.fields["evaluations"].queryset = self.fields["evaluations"].queryset.select_related("snapshot__model")
        self.fields["decisions"].queryset = self.fields["decisions"].queryset.select_related("snapshot")
        self.fields["snapshot"].queryset = self.fields["snapshot"].queryset.select_related("model")


class ReportForm(forms.ModelForm):
    regime = forms.ChoiceField()
    kind = forms.ChoiceField(choices=list(REPORT_KINDS.items()))

    class Meta:
        model = IncidentReport
        fields = ["regime", "kind", "sent_at", "sent_to", "content"]
        widgets = {"sent_at": MomentInput(), "content": forms.Textarea(attrs={"rows": 8})}
        help_texts = {"sent_at": "In UTC.", "content": "Paste exactly what was sent: riskreg keeps its SHA-256."}

    def __init__(self, *args, incident=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.incident = incident
        regimes = [(slug, name) for slug, name in rules().regime_choices() if slug in incident.jurisdictions]
        self.fields["regime"].choices = regimes

    def clean_sent_at(self):
        sent_at = self.cleaned_data["sent_at"]
        if sent_at and sent_at > timezone.now() + datetime.timedelta(minutes=5):
            raise forms.ValidationError("A report is recorded once it was sent: this time is in the future.")
        if sent_at and self.incident.aware_at and sent_at < self.incident.aware_at:
            raise forms.ValidationError("That is before you became aware of the incident: check the date.")
        return sent_at

    def clean(self):
        cleaned = super().clean()
        sent_at, resolved = cleaned.get("sent_at"), self.incident.resolved_at
        if cleaned.get("kind") == "final" and (resolved is None or (sent_at and sent_at < resolved)):
            self.add_error("kind", "A final report follows the resolution: record the resolution first, or "
                                   "choose another kind.")  # fmt: skip
        return cleaned


class FilingIssueForm(forms.Form):
    changelog = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=20_000,
                                help_text="What changed since the last version, and why (the first version may "
                                          "leave it empty).")  # fmt: skip
    interim = forms.BooleanField(required=False, help_text="Issue it as interim: the full report is late or inputs "
                                                           "are still missing.")  # fmt: skip

    def __init__(self, *args, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        if kind != FilingKind.TRANSPARENCY_REPORT:
            return
        for key, label in GIVEN_LABELS.items():
            self.fields[f"given_{key}"] = forms.CharField(
                label=label, required=False, max_length=500, help_text="Not in the record: given by you, and said so."
            )
        for spec in rules().transparency_report["fields"]:
            self.fields[f"withhold_{spec['key']}"] = forms.CharField(
                label=f"Withhold “{spec['title']}” because", required=False, max_length=500,
                help_text="Leave empty to publish it. A reason withholds it from the published copy.",
            )  # fmt: skip

    def given(self) -> dict:
        return {key: self.cleaned_data.get(f"given_{key}", "") for key in GIVEN_LABELS}

    def withheld(self) -> dict:
        return {spec["key"]: self.cleaned_data[f"withhold_{spec['key']}"]
                for spec in rules().transparency_report["fields"]
                if self.cleaned_data.get(f"withhold_{spec['key']}", "").strip()}  # fmt: skip


GIVEN_LABELS = {"website": "Developer's website", "contact": "Contact", "languages": "Languages supported",
                "modalities": "Output modalities"}  # fmt: skip
