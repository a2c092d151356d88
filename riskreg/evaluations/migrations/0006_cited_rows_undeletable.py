"""On PostgreSQL, an evaluation cited by a decision beyond a draft, and its evidence, are never deleted.

The models refuse it already (Evaluation.delete, Evidence.delete and their pre_delete receivers);
this trigger holds against any other path (raw SQL, a future bug). The row names its evaluation in
the column given as the trigger's argument: `id` for an evaluation, `evaluation_id` for evidence.
"""

from django.db import migrations

FORWARDS = [
    """CREATE FUNCTION evaluations_cited_undeletable() RETURNS trigger AS $$
DECLARE
    target_id bigint := (to_jsonb(OLD) ->> TG_ARGV[0])::bigint;
    found_id bigint;
    found_status text;
BEGIN
    SELECT d.id, d.status INTO found_id, found_status
    FROM decisions_determination_cited_evaluations c
    JOIN decisions_determination t ON t.id = c.determination_id
    JOIN decisions_releasedecision d ON d.id = t.decision_id
    WHERE c.evaluation_id = target_id AND d.status <> 'draft'
    LIMIT 1;
    IF found_id IS NOT NULL THEN
        RAISE EXCEPTION '% % refused: decision % (%) cites evaluation %, so it is never deleted',
            TG_TABLE_NAME, OLD.id, found_id, found_status, target_id USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER evaluations_evaluation_cited_undeletable BEFORE DELETE ON evaluations_evaluation
FOR EACH ROW EXECUTE FUNCTION evaluations_cited_undeletable('id')""",
    """CREATE TRIGGER evaluations_evidence_cited_undeletable BEFORE DELETE ON evaluations_evidence
FOR EACH ROW EXECUTE FUNCTION evaluations_cited_undeletable('evaluation_id')""",
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS evaluations_evidence_cited_undeletable ON evaluations_evidence",
    "DROP TRIGGER IF EXISTS evaluations_evaluation_cited_undeletable ON evaluations_evaluation",
    "DROP FUNCTION IF EXISTS evaluations_cited_undeletable()",
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARDS:
            schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARDS:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("evaluations", "0005_evaluation_outcome_index"),
        ("decisions", "0005_lifecycle_locked"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
