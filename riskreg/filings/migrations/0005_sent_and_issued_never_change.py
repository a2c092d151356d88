"""On PostgreSQL a report recorded as sent and an issued filing refuse UPDATE and DELETE in the database too.

The models refuse it already; these triggers hold against raw SQL as the app's role (which is also granted
only SELECT and INSERT on the two tables, riskreg/lib/dbroles.py), as a sign-off's do.
"""

from django.db import migrations

TABLES = ("filings_incidentreport", "filings_filing")
FUNCTION = """CREATE OR REPLACE FUNCTION filings_never_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% row %: % refused, a report sent or a filing issued never changes (record a new one)',
        TG_TABLE_NAME, OLD.id, TG_OP USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(FUNCTION, params=None)  # the % of RAISE are not placeholders
    for table in TABLES:
        schema_editor.execute(f"CREATE TRIGGER filings_never_change BEFORE UPDATE OR DELETE ON {table} "
                              "FOR EACH ROW EXECUTE FUNCTION filings_never_change()")  # fmt: skip


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS filings_never_change ON {table}")
    schema_editor.execute("DROP FUNCTION IF EXISTS filings_never_change()")


class Migration(migrations.Migration):
    dependencies = [("filings", "0004_filing_permissions")]

    operations = [migrations.RunPython(forwards, backwards)]
