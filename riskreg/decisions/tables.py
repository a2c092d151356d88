import django_tables2 as tables
from django.utils.html import format_html

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

    def render_status(self, record, value):
        state = getattr(record, "review_state", None)
        if state is None:
            return format_html('<span class="badge status-{}">{}</span>', record.status, value)
        return format_html('<span class="badge {}">{}</span>', state.css, state.label)

    def value_snapshot(self, record):
        return str(record.snapshot)
