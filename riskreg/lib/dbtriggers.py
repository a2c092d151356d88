"""Database triggers for invariants that span two tables, which a CHECK constraint cannot hold.

Written for PostgreSQL and SQLite. SQLite drops a table's triggers when Django rebuilds the
table in a later migration: such a migration must create the trigger again (the constraint
tests on SQLite fail if it does not).
"""


def same_category_trigger(table: str, message: str) -> dict[str, tuple[list[str], list[str]]]:
    """SQL (forwards, backwards) that refuses a row whose threshold belongs to another category."""
    name = f"{table}_threshold_category"
    quoted = message.replace("'", "''")
    mismatch = (
        "NEW.threshold_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM frameworks_threshold t "
        "WHERE t.id = NEW.threshold_id AND t.category_id = NEW.category_id)"
    )
    postgres = [
        f"""CREATE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF {mismatch} THEN
        RAISE EXCEPTION '{quoted}' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$ LANGUAGE plpgsql""",
        f"""CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF threshold_id, category_id ON {table}
FOR EACH ROW EXECUTE FUNCTION {name}()""",
    ]
    postgres_back = [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    sqlite = [
        f"""CREATE TRIGGER {name}_{event.split()[0].lower()} BEFORE {event} ON {table}
FOR EACH ROW WHEN {mismatch}
BEGIN SELECT RAISE(ABORT, '{quoted}'); END"""
        for event in ("INSERT", "UPDATE OF threshold_id, category_id")
    ]
    sqlite_back = [f"DROP TRIGGER IF EXISTS {name}_insert", f"DROP TRIGGER IF EXISTS {name}_update"]
    return {"postgresql": (postgres, postgres_back), "sqlite": (sqlite, sqlite_back)}


def run_for_vendor(statements_by_vendor: dict, backwards: bool = False):
    """A RunPython callable that executes the statements for the connection's vendor."""

    def run(apps, schema_editor):
        forwards_sql, backwards_sql = statements_by_vendor.get(schema_editor.connection.vendor, ([], []))
        for statement in backwards_sql if backwards else forwards_sql:
            schema_editor.execute(statement)

    return run
