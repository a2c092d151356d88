"""The risk register's CSV: the table's columns, read as rows."""

from riskreg.lib.exports import CsvExport, choice_labels
from riskreg.risks.models import Risk, owner_label


class RiskCsv(CsvExport):
    name = "risks"
    model = Risk
    header = ["Code", "Title", "Category", "Inherent L×I", "Residual L×I", "Treatment", "Status", "Owner",
              "Next review"]  # fmt: skip
    fields = ["code", "title", "category__name", "inherent_likelihood", "inherent_impact", "residual_likelihood",
              "residual_impact", "treatment", "status", "owner", "owner_user_id", "owner_user__first_name",
              "owner_user__last_name", "owner_user__username", "next_review"]  # fmt: skip

    def __init__(self):
        self.treatments = choice_labels(Risk, "treatment")
        self.statuses = choice_labels(Risk, "status")

    def cells(self, rows):
        for (code, title, category, il, ii, rl, ri, treatment, status, owner, user_id, first, last, username,
             next_review) in rows:  # fmt: skip
            yield [code, title, category, il * ii, rl * ri, self.treatments.get(treatment, treatment),
                   self.statuses.get(status, status), owner_label(owner, user_id, first, last, username),
                   next_review]  # fmt: skip
