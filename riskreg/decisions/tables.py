"""The decisions list's columns: headers, and which sort on what (riskreg/lib/lists.py draws the rows)."""

import django_tables2 as tables

from .models import ReleaseDecision


class ReleaseDecisionTable(tables.Table):
    reference = tables.Column(linkify=True, verbose_name="Ref.")
    title = tables.Column(linkify=True)
    snapshot = tables.Column(verbose_name="Model / snapshot", order_by=("snapshot__model__name", "snapshot__name"))
    framework_version = tables.Column(verbose_name="Framework", order_by=("framework_version__framework__name",))
    source_section = tables.Column(verbose_name="Source (§ · how sure)",
                                   order_by=("provenance", "source_mark", "source_section"))

    class Meta:
        model = ReleaseDecision
        fields = ["reference", "title", "snapshot", "scope", "status", "framework_version", "effective_date",
                  "source_section"]
        attrs = {"class": "list"}
