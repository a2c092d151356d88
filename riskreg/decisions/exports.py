"""The decisions list's CSV: the table's columns, read as rows."""

from riskreg.decisions.models import ReleaseDecision, status_words
from riskreg.lib.exports import CsvExport, choice_labels


class ReleaseDecisionCsv(CsvExport):
    name = "decisions"
    model = ReleaseDecision
    header = ["Ref.", "Title", "Model / snapshot", "Scope", "Status", "Framework", "Effective date"]
    fields = ["reference", "title", "snapshot__model__name", "snapshot__name", "scope", "status", "provenance",
              "framework_version__framework__name", "framework_version__version", "effective_date"]  # fmt: skip

    def __init__(self):
        self.scopes = choice_labels(ReleaseDecision, "scope")

    def cells(self, rows):
        for reference, title, model, snapshot, scope, status, provenance, framework, version, effective in rows:
            # "Approved (recorded from a published source)": a recorded decision was not approved here.
            yield [reference, title, f"{model} — {snapshot}", self.scopes.get(scope, scope),
                   status_words(status, provenance), f"{framework} v{version}", effective]  # fmt: skip
