import django_tables2 as tables
from django.utils.html import format_html, format_html_join

from .models import Evaluation


class EvaluationTable(tables.Table):
    title = tables.Column(linkify=True)
    snapshot = tables.Column(verbose_name="Model / snapshot", order_by=("snapshot__model__name", "snapshot__name"))
    category = tables.Column(order_by=("category__order",))
    kind = tables.Column()
    outcome = tables.Column()
    score = tables.Column()
    is_external = tables.BooleanColumn(verbose_name="External")
    source_section = tables.Column(verbose_name="§")
    evidence = tables.Column(empty_values=(), orderable=False, verbose_name="Evidence (SHA-256)")

    class Meta:
        model = Evaluation
        fields = [
            "title",
            "snapshot",
            "category",
            "kind",
            "outcome",
            "score",
            "is_external",
            "source_section",
            "evidence",
        ]
        attrs = {"class": "list"}

    def render_outcome(self, record, value):
        return format_html('<span class="badge outcome-{}">{}</span>', record.outcome, value)

    def render_score(self, record):
        unit = f" {record.score_unit}" if record.score_unit else ""
        return f"{record.score:g}{unit}"

    def value_score(self, record):
        return record.score

    def render_evidence(self, record):
        files = [piece for piece in record.evidence.all() if piece.sha256]
        if not files:
            return f"{len(record.evidence.all())} link/note" if record.evidence.all() else "—"
        return format_html_join(
            ", ", '<code class="hash" title="{} — SHA-256 {}">{}…</code>',
            ((piece.original_name, piece.sha256, piece.sha256[:12]) for piece in files),
        )  # fmt: skip

    def value_evidence(self, record):
        return " ".join(piece.sha256 for piece in record.evidence.all() if piece.sha256)

    def value_snapshot(self, record):
        return str(record.snapshot)
