"""The risk register's columns: headers, and which sort on what (riskreg/lib/lists.py draws the rows)."""

import django_tables2 as tables

from .models import Risk


class RiskTable(tables.Table):
    code = tables.Column(linkify=True)
    title = tables.Column(linkify=True)
    category = tables.Column(order_by=("category__order",))
    inherent = tables.Column(empty_values=(), verbose_name="Inherent L×I",
                             order_by=("inherent_likelihood", "inherent_impact"))  # fmt: skip
    residual = tables.Column(empty_values=(), verbose_name="Residual L×I",
                             order_by=("residual_likelihood", "residual_impact"))  # fmt: skip
    owner = tables.Column(empty_values=(), order_by=("owner_user__username", "owner"))
    source_section = tables.Column(verbose_name="Source (§ · how sure)")

    class Meta:
        model = Risk
        fields = ["code", "title", "category", "inherent", "residual", "treatment", "status", "owner", "next_review",
                  "source_section"]
        attrs = {"class": "list"}
