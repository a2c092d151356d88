"""The decisions list's columns: headers, and which sort on what (riskreg/lib/lists.py draws the rows)."""

import django_tables2 as tables

from .models import ReleaseDecision


class ReleaseDecisionTable(tables.Table):
    reference = tables.Column(linkify=True, verbose_name="Ref.")
    title = tables.Column(linkify=True)
    snapshot = tables.Column(verbose_name="Model / snapshot", order_by=("snapshot__model__name", "snapshot__name"))
    framework_version = tables.Column(verbose_name="Framework", order_by=("framework_version__framework__name",))

    class Meta:
        model = ReleaseDecision
        fields = ["reference", "title", "snapshot", "scope", "status", "framework_version", "effective_date"]
        attrs = {"class": "list"}
