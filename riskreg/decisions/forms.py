import re
from typing import cast

from django import forms
from django.db.models import Q

from riskreg import provenance
from riskreg.evaluations.models import Evaluation
from riskreg.frameworks.models import GovernanceTitle, ThreatCategory
from riskreg.lib.dates import day
from riskreg.lib.forms import BoundedChoicesMixin
from riskreg.lib.text import no_control_characters

from .digest import CONTENT_VERSION
from .models import Determination, GapAcknowledgement, ReleaseDecision, ReviewCondition, SignOffVerdict


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
                  "safety_margin", "cited_evaluations"]  # fmt: skip
        widgets = {
            "residual_risk": forms.Textarea(attrs={"rows": 2}),
            "safety_margin": forms.Textarea(attrs={"rows": 2}),
            "reasoning": forms.Textarea(attrs={"rows": 3}),
            "safeguards": forms.Textarea(attrs={"rows": 2}),
            "cited_evaluations": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, decision, category=None, other_snapshots=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.decision = decision
        self.fields["threshold"].queryset = decision.framework_version.thresholds.select_related("category")
        if category is not None and not self.instance.category_id:
            self.initial["category"] = category.pk
        self.chosen_category = self._chosen_category(category)
        self.other_snapshots = other_snapshots
        self._citing_picker(decision)

    def _chosen_category(self, hint):
        """The category whose evaluations the picker offers: the posted one, the saved one, or the hint."""
        if self.is_bound:
            value = self.data.get(self.add_prefix("category"))
            usable = value and str(value).isascii() and str(value).isdigit()
            found = ThreatCategory.objects.filter(pk=value).first() if usable else None
            if found is not None:
                return found
        if self.instance.category_id:
            return self.instance.category
        return hint

    def _citing_picker(self, decision):
        """Evaluations the determination may cite: of the chosen category (all categories until one is
        chosen), of the decision's snapshot — and of the model's other snapshots when asked for, marked
        as such — grouped by snapshot, each with its outcome, score, section and date, cited ones first."""
        field = self.fields["cited_evaluations"]
        snapshots = Q(snapshot=decision.snapshot)
        if self.other_snapshots:
            snapshots |= Q(snapshot__model_id=decision.snapshot.model_id)
        cited = set(self.instance.cited_evaluations.values_list("pk", flat=True)) if self.instance.pk else set()
        offered = snapshots & Q(category=self.chosen_category) if self.chosen_category is not None else snapshots
        # What the determination already cites is always offered (and kept on save), whatever the filter.
        evaluations = Evaluation.objects.filter(offered | Q(pk__in=cited)).select_related("category", "snapshot",
                                                                                           "threshold")
        field.queryset = evaluations
        if self.is_bound:
            posted = self.data.getlist(self.add_prefix("cited_evaluations"))
            cited |= {int(v) for v in posted if str(v).isascii() and str(v).isdigit()}
        groups: dict = {}
        rows = sorted(evaluations[:2000], key=lambda e: (e.snapshot_id != decision.snapshot_id, e.snapshot_id,
                                                         e.pk not in cited, e.source_section, e.title))  # fmt: skip
        for evaluation in rows:
            snapshot = evaluation.snapshot
            label = (f"{snapshot.name} — this decision's snapshot" if snapshot.pk == decision.snapshot_id
                     else f"{snapshot.name} — another snapshot of {decision.snapshot.model.name}")  # fmt: skip
            groups.setdefault(label, []).append((evaluation.pk, self._label(evaluation, evaluation.pk in cited)))
        field.choices = list(groups.items())
        chosen = f" of {self.chosen_category}" if self.chosen_category else ""
        field.help_text = (f"Evaluations{chosen} that the determination rests on, grouped by snapshot; each with its "
                           "outcome, score, section and date. Already cited ones come first.")  # fmt: skip

    @staticmethod
    def _label(evaluation, cited: bool) -> str:
        score = f"{evaluation.score:g} {evaluation.score_unit}".strip() if evaluation.score is not None else "no score"
        when = (f"finished {day(evaluation.finished_on)}" if evaluation.finished_on
                else f"recorded {day(evaluation.recorded_at)}")  # fmt: skip
        # Where it comes from, flagged when a reader must not miss it (riskreg.provenance), and the outcome in its
        # threshold's own words: what an author reads when choosing what a determination rests on.
        where = provenance.of(evaluation)
        source = where.short if where.flagged or where.origin != "recorded" else where.where
        parts = [evaluation.title, source, evaluation.outcome_label + (f" ({provenance.READING})" if where.reads(
                     "outcome") else ""), score, when, evaluation.category.name]  # fmt: skip
        return ("★ cited · " if cited else "") + " · ".join(parts)

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


class ReviewConditionForm(BoundedChoicesMixin, forms.ModelForm):
    class Meta:
        model = ReviewCondition
        fields = ["text", "rule", "category", "outcome"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3}), "rule": forms.RadioSelect}

    def __init__(self, *args, decision, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance.decision = decision


class _SigningForm(BoundedChoicesMixin, forms.Form):
    """The titles offered are the decision's required titles the signer holds and that nobody has signed
    on the content as it is now — none at all once the signer has signed it. The digest of the content
    the signer read travels with the form; the sign step refuses it when the content has changed since."""

    digest = forms.RegexField(regex=r"^[0-9a-f]{64}$", widget=forms.HiddenInput,
                              error_messages={"invalid": "Reload the decision and read it again before you sign."})

    def __init__(self, *args, decision, user, digest: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["digest"].initial = digest
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            digest = ""  # posted garbage (a NUL byte even) never reaches a query; the field says what is wrong
        signed = decision.sign_offs.filter(digest=digest, content_version=CONTENT_VERSION)
        if signed.filter(signer=user).exists():
            titles = GovernanceTitle.objects.none()
        else:
            titles = decision.framework_version.required_titles.filter(holders=user).exclude(
                pk__in=signed.values("title_id")
            )
        cast(forms.ModelChoiceField, self.fields["title"]).queryset = titles  # the subclasses' title field
        self.fields["title"].help_text = "Only the required titles you hold and nobody has signed yet are offered."


class SignOffForm(_SigningForm):
    title = forms.ModelChoiceField(queryset=GovernanceTitle.objects.none(), empty_label=None, label="Signing as")
    verdict = forms.ChoiceField(choices=SignOffVerdict.choices, widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
                              validators=[no_control_characters])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("verdict") == SignOffVerdict.REJECT and not cleaned.get("comment", "").strip():
            self.add_error("comment", "Say why you reject it.")
        return cleaned


class ReaffirmForm(_SigningForm):
    title = forms.ModelChoiceField(queryset=GovernanceTitle.objects.none(), empty_label=None, label="Re-affirming as")
    comment = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000,
        validators=[no_control_characters], help_text="Why the decision still holds."
    )
