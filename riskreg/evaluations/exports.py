"""The evaluations list's CSV: the table's columns, read as rows."""

from riskreg.evaluations.models import OUTCOME_TERM_FIELDS, Evaluation, Evidence, outcome_words
from riskreg.lib.exports import CsvExport, choice_labels, ids_in


class EvaluationCsv(CsvExport):
    name = "evaluations"
    model = Evaluation
    header = ["Title", "Model / snapshot", "Category", "Kind", "Outcome", "Score", "External", "Evidence (SHA-256)"]
    fields = ["pk", "title", "snapshot__model__name", "snapshot__name", "category__name", "kind", "outcome", "score",
              "is_external", *OUTCOME_TERM_FIELDS]  # fmt: skip

    def __init__(self):
        self.kinds = choice_labels(Evaluation, "kind")

    def cells(self, rows):
        # The chunk's file hashes in one query, in the order the pieces were added (as the page lists them).
        # Sorted here, not in SQL: with ORDER BY id PostgreSQL may walk the whole evidence table in id
        # order for each chunk instead of looking the chunk's rows up by evaluation.
        hashes = {}
        pieces = Evidence.objects.filter(evaluation_id__in=ids_in([row[0] for row in rows]), sha256__gt="").order_by()
        for _, evaluation_id, sha256 in sorted(pieces.values_list("id", "evaluation_id", "sha256")):
            hashes.setdefault(evaluation_id, []).append(sha256)
        for pk, title, model, snapshot, category, kind, outcome, score, external, crossed, not_crossed in rows:
            # The outcome in its threshold's own words (RSP v3.0's TM1: "Applicable"), as on the page.
            yield [title, f"{model} — {snapshot}", category, self.kinds.get(kind, kind),
                   outcome_words(outcome, crossed, not_crossed), score, external,
                   " ".join(hashes.get(pk, ()))]  # fmt: skip
