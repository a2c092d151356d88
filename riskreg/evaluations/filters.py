import json

import django_filters
from django import forms
from django.db.models import Q

from riskreg.frameworks.models import ThreatCategory
from riskreg.lib.forms import FilterForm

from .models import AIModel, Evaluation, EvaluationKind, Outcome, Snapshot


class EvaluationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(field_name="title", lookup_expr="icontains", label="Title contains")
    run = django_filters.CharFilter(
        method="filter_run", label="Inspect run",
        help_text="A task name (part of it), a task id, an eval id, an eval-set id or a tag.",
    )  # fmt: skip
    model = django_filters.ModelChoiceFilter(
        field_name="snapshot__model", queryset=AIModel.objects.all(), label="Model"
    )
    snapshot = django_filters.ModelChoiceFilter(queryset=Snapshot.objects.select_related("model"))
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
