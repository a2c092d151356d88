"""The one set of audit-trail filters, shared by the audit page, its exports and export_audit."""

import django_filters
from django import forms
from django.apps import apps
from django.db.models import Q
from django.utils.text import capfirst

from riskreg.lib.forms import FilterForm

from .models import Action, AuditEvent


def tracked_model_choices():
    """Each tracked kind of record by its name ("Release decision"); the app's name only where two share one."""
    models = [model for model in apps.get_models() if hasattr(model._meta, "simple_history_manager_attribute")]
    names = [capfirst(str(model._meta.verbose_name)) for model in models]
    return sorted(
        (model._meta.label, name if names.count(name) == 1 else f"{name} ({model._meta.app_config.verbose_name})")
        for model, name in zip(models, names, strict=True)
    )


class AuditEventFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="lt", label="Before", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    user = django_filters.CharFilter(method="by_user", label="User", help_text="Part of a user name or a name.")
    model = django_filters.ChoiceFilter(choices=tracked_model_choices, label="Record type")
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label="Record id")
    action = django_filters.ChoiceFilter(choices=Action.choices, label="Action")

    def by_user(self, queryset, name, value):
        """Every word must be part of the user name, the first or the last name: "ada love" finds Ada Lovelace."""
        for word in value.split():
            queryset = queryset.filter(Q(username__icontains=word) | Q(user__first_name__icontains=word)
                                       | Q(user__last_name__icontains=word))  # fmt: skip
        return queryset

    class Meta:
        model = AuditEvent
        form = FilterForm
        fields = ["since", "until", "user", "model", "object_id", "action"]
