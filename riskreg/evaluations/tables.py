"""The evaluations list's columns: headers, and which sort on what (riskreg/lib/lists.py draws the rows)."""

import django_tables2 as tables

from .models import Evaluation


class EvaluationTable(tables.Table):
    title = tables.Column()
    snapshot = tables.Column(verbose_name="Model / snapshot", order_by=("snapshot__model__name", "snapshot__name"))
    category = tables.Column(order_by=("category__order",))
    is_external = tables.Column(verbose_name="External")
    source_section = tables.Column(verbose_name="Source (§ · how sure)")
    evidence = tables.Column(empty_values=(), orderable=False, verbose_name="Evidence (SHA-256)")

    class Meta:
        model = Evaluation
        fields = ["title", "snapshot", "category", "kind", "outcome", "score", "is_external", "evidence",
                  "source_section"]  # fmt: skip
        attrs = {"class": "list"}
