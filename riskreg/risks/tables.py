import django_tables2 as tables
from django.utils import timezone

from riskreg.lib.dates import day

from .models import Risk, RiskStatus


def _overdue(record) -> bool:
    return bool(record.next_review) and record.status != RiskStatus.CLOSED and record.next_review < timezone.localdate()


class RiskTable(tables.Table):
    code = tables.Column(linkify=True)
    title = tables.Column(linkify=True)
    category = tables.Column(order_by=("category__order",), default="Cross-cutting")
    inherent = tables.Column(empty_values=(), verbose_name="Inherent L×I",
                             order_by=("inherent_likelihood", "inherent_impact"))  # fmt: skip
    residual = tables.Column(empty_values=(), verbose_name="Residual L×I",
                             order_by=("residual_likelihood", "residual_impact"))  # fmt: skip

    owner = tables.Column(empty_values=(), order_by=("owner_user__username", "owner"))
    next_review = tables.Column(attrs={"td": {"class": lambda record: "overdue" if _overdue(record) else ""}})

    class Meta:
        model = Risk
        fields = ["code", "title", "category", "inherent", "residual", "treatment", "status", "owner", "next_review"]
        attrs = {"class": "list"}

    def render_owner(self, record):
        return record.owner_label

    def value_owner(self, record):
        return record.owner_label

    def render_next_review(self, record, value):
        return f"{day(value)} — overdue" if _overdue(record) else day(value)

    def render_inherent(self, record):
        return f"{record.inherent_likelihood}×{record.inherent_impact} = {record.inherent_score}"

    def render_residual(self, record):
        return f"{record.residual_likelihood}×{record.residual_impact} = {record.residual_score}"

    def value_inherent(self, record):
        return record.inherent_score

    def value_residual(self, record):
        return record.residual_score
