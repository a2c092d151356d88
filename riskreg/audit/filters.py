"""The one set of audit-trail filters, shared by the audit page, its exports and export_audit."""

import django_filters
from django import forms
from django.apps import apps

from riskreg.forms import FilterForm

from .models import Action, AuditEvent


def tracked_model_choices():
    return sorted(
        (model._meta.label, f"{model._meta.verbose_name.capitalize()} ({model._meta.label})")
        for model in apps.get_models()
        if hasattr(model._meta, "simple_history_manager_attribute")
    )


class AuditEventFilter(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="gte", label="From", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="at", lookup_expr="lt", label="Before", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    user = django_filters.CharFilter(field_name="username", lookup_expr="exact", label="User")
    model = django_filters.ChoiceFilter(choices=tracked_model_choices, label="Record type")
    object_id = django_filters.CharFilter(field_name="object_id", lookup_expr="exact", label="Record id")
    action = django_filters.ChoiceFilter(choices=Action.choices, label="Action")

    class Meta:
        model = AuditEvent
        form = FilterForm
        fields = ["since", "until", "user", "model", "object_id", "action"]
