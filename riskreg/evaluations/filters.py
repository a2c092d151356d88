import json

import django_filters
from django import forms
from django.db.models import Q

from riskreg.frameworks.models import ThreatCategory
from riskreg.lib.forms import FilterForm, id_in_range

from .models import AIModel, Evaluation, EvaluationKind, Outcome, Snapshot


def _id(text):
    """A whole number that an id column can hold, or None."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and id_in_range(text) else None


class EvaluationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    run = django_filters.CharFilter(
        method="filter_run", label="Inspect run",
        help_text="A task name (part of it), a task id, an eval id, an eval-set id or a tag.",
    )  # fmt: skip
    model = django_filters.ModelChoiceFilter(
        field_name="snapshot__model", queryset=AIModel.objects.all(), label="Model"
    )
    # Only the chosen model's snapshots are offered (or the one in the link): the list of every
    # snapshot grows with the register, and drawing it on every page cost more than the rows.
    snapshot = django_filters.ModelChoiceFilter(queryset=Snapshot.objects.none(), empty_label="Any")
    category = django_filters.ModelChoiceFilter(queryset=ThreatCategory.objects.all())
    kind = django_filters.ChoiceFilter(choices=EvaluationKind.choices)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    is_external = django_filters.BooleanFilter(label="External", widget=forms.Select(
        choices=[("", "Any"), ("true", "External"), ("false", "Internal")]))  # fmt: skip
    recorded_after = django_filters.DateFilter(
        field_name="recorded_at", lookup_expr="date__gte", label="Recorded from",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip
    recorded_before = django_filters.DateFilter(
        field_name="recorded_at", lookup_expr="date__lte", label="Recorded until",
        widget=forms.DateInput(attrs={"type": "date"}),
    )  # fmt: skip

    class Meta:
        model = Evaluation
        form = FilterForm
        fields = ["q", "run", "model", "snapshot", "category", "kind", "outcome", "is_external"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        data = data or {}
        model, snapshot = _id(data.get("model")), _id(data.get("snapshot"))
        # With a model chosen, its snapshots (a snapshot of another model is then no choice, and says
        # so); else only the snapshot a link names.
        if model is not None:
            offered = Q(model_id=model)
        else:
            offered = Q(pk=snapshot) if snapshot is not None else Q(pk__in=[])
        self.filters["snapshot"].queryset = Snapshot.objects.filter(offered).select_related("model")
        if model is None:
            self.filters["snapshot"].extra["empty_label"] = "Any (choose a model to list its snapshots)"

    def filter_run(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(imported_run__task__icontains=value)
            | Q(imported_run__task_id=value)
            | Q(imported_run__eval_id=value)
            | Q(imported_run__eval_set_id=value)
            | Q(imported_run__tags__icontains=json.dumps(value, ensure_ascii=False))  # one whole tag, quoted
        )
