"""On PostgreSQL the audit table and every history table refuse UPDATE, DELETE and TRUNCATE.

Installed after every migrate (idempotently), so a history table that a later migration adds is
covered too. The app's role cannot get around them: it owns no table, so it can neither drop nor
disable a trigger, and it is granted no UPDATE, DELETE or TRUNCATE on these tables at all
(riskreg/lib/dbroles.py). The triggers also stop the owner role by mistake; an owner or superuser who
means it can disable them, which the hash chain and a published head still catch (SECURITY.md).
"""

from django.apps import apps
from django.db import connections

FUNCTION = """
CREATE OR REPLACE FUNCTION riskreg_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END $$ LANGUAGE plpgsql
"""


def append_only_tables() -> list[str]:
    """The audit table, its Merkle tree and checkpoints, every history table and historical m2m table."""
    from simple_history.models import HistoricalRecords

    from .models import AuditCheckpoint, AuditEvent, AuditTreeNode

    tables = {AuditEvent._meta.db_table, AuditTreeNode._meta.db_table, AuditCheckpoint._meta.db_table}
    for model in apps.get_models():
        if hasattr(model._meta, "simple_history_manager_attribute"):
            tables.add(model.history.model._meta.db_table)  # type: ignore[attr-defined]  # added by simple_history
    tables.update(m2m_model._meta.db_table for m2m_model in HistoricalRecords.m2m_models.values())
    return sorted(tables)


def install_append_only_triggers(using: str = "default") -> None:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        cursor.execute(FUNCTION)
        for table in append_only_tables():
            if table not in existing:
                continue
            name = connection.ops.quote_name(table)
            cursor.execute(f"DROP TRIGGER IF EXISTS riskreg_append_only ON {name}")
            cursor.execute(
                f"CREATE TRIGGER riskreg_append_only BEFORE UPDATE OR DELETE ON {name} "
                "FOR EACH ROW EXECUTE FUNCTION riskreg_append_only()"
            )
            cursor.execute(f"DROP TRIGGER IF EXISTS riskreg_append_only_truncate ON {name}")
            cursor.execute(
                f"CREATE TRIGGER riskreg_append_only_truncate BEFORE TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION riskreg_append_only()"
            )
