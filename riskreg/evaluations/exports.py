"""The evaluations list's CSV: the table's columns, read as rows."""

from django.db.models import Case, F, TextField, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat

from riskreg.evaluations.models import Evaluation, Evidence
from riskreg.exports import CsvExport, choice_labels, escaped_sql, label_sql

TABLE = f'"{Evaluation._meta.db_table}"'
EVIDENCE = f'"{Evidence._meta.db_table}"'

# str(float) in SQL. Python's repr prints the fewest significant digits that read back as the same
# float. PostgreSQL's float8 text always reads back but is not always that short (1e23 prints as
# 9.999999999999999e+22, 5e-324 as 4.94065645841247e-324), so the float's text is rounded to 1, 2,
# … 17 significant digits and the first that reads back as the same float is kept; its digits d and
# decimal exponent x are then laid out as Python does: fixed notation for -4 <= x < 16, with ".0" on
# whole numbers, else d.ddde±XX. (Scores are finite: the model refuses NaN and infinities.)
SHORTEST_SQL = f"""CASE WHEN {TABLE}."score" = 0 THEN '0'
  WHEN abs({TABLE}."score") > 1e308 THEN abs({TABLE}."score")::text
  ELSE (SELECT abs(round(n.r, k - 1 - floor(log(abs(n.r)))::int))::text
        FROM (SELECT {TABLE}."score"::text::numeric AS r) n, generate_series(1, 17) k
        WHERE round(n.r, k - 1 - floor(log(abs(n.r)))::int)::float8 = {TABLE}."score" ORDER BY k LIMIT 1) END"""
PYTHON_FLOAT_SQL = f"""(SELECT CASE
  WHEN p.s IS NULL THEN NULL
  WHEN p.s = 0 THEN CASE WHEN left(p.s::text, 1) = '-' THEN '-0.0' ELSE '0.0' END
  WHEN p.x >= -4 AND p.x < 16 THEN p.sgn || CASE
    WHEN p.x >= length(p.d) - 1 THEN p.d || repeat('0', p.x - length(p.d) + 1) || '.0'
    WHEN p.x >= 0 THEN left(p.d, p.x + 1) || '.' || substr(p.d, p.x + 2)
    ELSE '0.' || repeat('0', -p.x - 1) || p.d END
  ELSE p.sgn || left(p.d, 1) || CASE WHEN length(p.d) > 1 THEN '.' || substr(p.d, 2) ELSE '' END
    || 'e' || CASE WHEN p.x < 0 THEN '-' ELSE '+' END
    || CASE WHEN abs(p.x) < 10 THEN '0' ELSE '' END || abs(p.x)::text END
FROM (SELECT q.s, q.sgn, rtrim(ltrim(q.i || q.f, '0'), '0') AS d,
             q.e + length(q.i) - 1 - (length(q.i || q.f) - length(ltrim(q.i || q.f, '0'))) AS x
      FROM (SELECT r.s, CASE WHEN r.s < 0 THEN '-' ELSE '' END AS sgn, r.m[1] AS i, coalesce(r.m[2], '') AS f,
                   coalesce(r.m[3], '0')::int AS e
            FROM (SELECT {TABLE}."score" AS s,
                         regexp_match({SHORTEST_SQL}, '^([0-9]+)(?:[.]([0-9]+))?(?:e([-+][0-9]+))?$') AS m
                 ) r) q) p)"""
HASHES_SQL = (f"(SELECT string_agg(v.sha256, ' ' ORDER BY v.id) FROM {EVIDENCE} v "
              f"WHERE v.evaluation_id = {TABLE}.\"id\" AND v.sha256 > '')")  # fmt: skip


class EvaluationCsv(CsvExport):
    name = "evaluations"
    header = ["Title", "Model / snapshot", "Category", "Kind", "Outcome", "Score", "External", "§",
              "Evidence (SHA-256)"]  # fmt: skip
    fields = ["pk", "title", "snapshot__model__name", "snapshot__name", "category__name", "kind", "outcome", "score",
              "is_external", "source_section"]  # fmt: skip

    def __init__(self):
        self.kinds = choice_labels(Evaluation, "kind")
        self.outcomes = choice_labels(Evaluation, "outcome")

    def copy_cells(self, queryset):
        columns = {
            "x_title": escaped_sql(F("title")),
            "x_snapshot": escaped_sql(Concat(F("snapshot__model__name"), Value(" — "), F("snapshot__name"),
                                             output_field=TextField())),
            "x_category": escaped_sql(F("category__name")),
            "x_kind": label_sql("kind", self.kinds),
            "x_outcome": label_sql("outcome", self.outcomes),
            "x_score": escaped_sql(RawSQL(PYTHON_FLOAT_SQL, [], output_field=TextField())),
            "x_external": Case(When(is_external=True, then=Value("True")), default=Value("False")),
            "x_section": escaped_sql(F("source_section")),
            "x_evidence": escaped_sql(RawSQL(HASHES_SQL, [], output_field=TextField())),
        }  # fmt: skip
        return queryset.annotate(**columns), list(columns)

    def cells(self, rows):
        # The chunk's file hashes in one query, in the order the pieces were added (as the page lists them).
        # Sorted here, not in SQL: with ORDER BY id PostgreSQL may walk the whole evidence table in id
        # order for each chunk instead of looking the chunk's rows up by evaluation.
        hashes = {}
        pieces = Evidence.objects.filter(evaluation_id__in=[row[0] for row in rows], sha256__gt="").order_by()
        for _, evaluation_id, sha256 in sorted(pieces.values_list("id", "evaluation_id", "sha256")):
            hashes.setdefault(evaluation_id, []).append(sha256)
        for pk, title, model, snapshot, category, kind, outcome, score, external, section in rows:
            yield [title, f"{model} — {snapshot}", category, self.kinds.get(kind, kind),
                   self.outcomes.get(outcome, outcome), score, external, section,
                   " ".join(hashes.get(pk, ()))]  # fmt: skip
