"""On PostgreSQL, approved decisions and everything they rest on refuse change in the database too.

The models refuse it already; these triggers hold against any other path (raw SQL, a future bug):
an approved or superseded decision changes only from approved to superseded, its determinations,
citations and gap acknowledgements do not change, and no sign-off is ever edited or deleted.
"""

from django.db import migrations

FROZEN = "('approved', 'superseded')"

FORWARDS = [
    f"""CREATE FUNCTION decisions_decision_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status IN {FROZEN} THEN
            RAISE EXCEPTION 'decision % is %: it is never deleted', OLD.id, OLD.status USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status IN {FROZEN} AND (
        (to_jsonb(NEW) - 'status') IS DISTINCT FROM (to_jsonb(OLD) - 'status')
        OR NOT (NEW.status = OLD.status OR (OLD.status = 'approved' AND NEW.status = 'superseded'))
    ) THEN
        RAISE EXCEPTION 'decision % is %: it never changes (supersede it instead)', OLD.id, OLD.status
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER decisions_decision_immutable BEFORE UPDATE OR DELETE ON decisions_releasedecision
FOR EACH ROW EXECUTE FUNCTION decisions_decision_immutable()""",
    f"""CREATE FUNCTION decisions_part_immutable() RETURNS trigger AS $$
DECLARE
    row_decision bigint;
    decision_status text;
BEGIN
    IF TG_TABLE_NAME = 'decisions_determination_cited_evaluations' THEN
        IF TG_OP = 'DELETE' THEN
            SELECT decision_id INTO row_decision FROM decisions_determination WHERE id = OLD.determination_id;
        ELSE
            SELECT decision_id INTO row_decision FROM decisions_determination WHERE id = NEW.determination_id;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        row_decision := OLD.decision_id;
    ELSE
        row_decision := NEW.decision_id;
    END IF;
    SELECT status INTO decision_status FROM decisions_releasedecision WHERE id = row_decision;
    IF decision_status IN {FROZEN} THEN
        RAISE EXCEPTION '% refused: decision % is %', TG_OP, row_decision, decision_status
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF TG_TABLE_NAME <> 'decisions_determination_cited_evaluations' THEN
            -- moving a row away from a frozen decision is a change to that decision too
            SELECT status INTO decision_status FROM decisions_releasedecision WHERE id = OLD.decision_id;
            IF decision_status IN {FROZEN} THEN
                RAISE EXCEPTION 'UPDATE refused: decision % is %', OLD.decision_id, decision_status
                    USING ERRCODE = 'restrict_violation';
            END IF;
        END IF;
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$ LANGUAGE plpgsql""",
    *[
        f"""CREATE TRIGGER decisions_part_immutable BEFORE INSERT OR UPDATE OR DELETE ON {table}
FOR EACH ROW EXECUTE FUNCTION decisions_part_immutable()"""
        for table in (
            "decisions_determination",
            "decisions_gapacknowledgement",
            "decisions_determination_cited_evaluations",
        )
    ],
    """CREATE FUNCTION decisions_signoff_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'sign-off %: % refused, a sign-off is never changed', OLD.id, TG_OP USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER decisions_signoff_immutable BEFORE UPDATE OR DELETE ON decisions_signoff
FOR EACH ROW EXECUTE FUNCTION decisions_signoff_immutable()""",
]

BACKWARDS = [
    "DROP TRIGGER IF EXISTS decisions_signoff_immutable ON decisions_signoff",
    "DROP FUNCTION IF EXISTS decisions_signoff_immutable()",
    *[
        f"DROP TRIGGER IF EXISTS decisions_part_immutable ON {table}"
        for table in ("decisions_determination", "decisions_gapacknowledgement", "decisions_determination_cited_evaluations")
    ],
    "DROP FUNCTION IF EXISTS decisions_part_immutable()",
    "DROP TRIGGER IF EXISTS decisions_decision_immutable ON decisions_releasedecision",
    "DROP FUNCTION IF EXISTS decisions_decision_immutable()",
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
    dependencies = [("decisions", "0003_signoff_signed_content")]

    operations = [migrations.RunPython(forwards, backwards)]
