"""PostgreSQL with two roles: an owner that migrates, and the app's role that owns nothing.

The app connects as the role of DATABASE_URL. `manage.py migrate` connects as the role of
MIGRATE_DATABASE_URL, which owns every table, and after every run grants the app role exactly:

- on the audit table, its Merkle tree nodes and checkpoints, and every history table: SELECT and INSERT,
  never UPDATE, DELETE or TRUNCATE;
- on the chain head: SELECT, INSERT and UPDATE (it is locked and moved on each append);
- on `django_migrations`: SELECT; on content types and permissions: SELECT and INSERT;
- on every other (live) table: SELECT, INSERT, UPDATE and DELETE; on sequences: USAGE and SELECT.

Owning nothing, the app role cannot ALTER a table, drop or disable a trigger, or TRUNCATE; not being
a superuser, it cannot `SET session_replication_role`. What an owner or superuser can still do, and
what catches it, is in SECURITY.md.
"""

from contextlib import contextmanager

from django.conf import settings
from django.db import connections, transaction

OWNER_KEYS = ("USER", "PASSWORD", "HOST", "PORT", "OPTIONS")
APPEND_ONLY = "SELECT, INSERT"
LIVE = "SELECT, INSERT, UPDATE, DELETE"
# Tables the app uses in a narrower way than a live domain table.
NARROW = {
    "django_migrations": "SELECT",
    "django_content_type": "SELECT, INSERT",
    "auth_permission": "SELECT, INSERT",
    "audit_audithead": "SELECT, INSERT, UPDATE",
    # A report recorded as sent, and an issued filing, never change (issue 19): written once, read after.
    "filings_incidentreport": "SELECT, INSERT",
    "filings_filing": "SELECT, INSERT",
}


def two_roles(using: str = "default") -> bool:
    """True when migrations run as an owner role other than the app's role."""
    owner = getattr(settings, "MIGRATE_DATABASE", None)
    return (
        using == "default"
        and owner is not None
        and connections[using].vendor == "postgresql"
        and owner["USER"] != app_role(using)
    )


def app_role(using: str = "default") -> str:
    """The app's role: the user of DATABASE_URL, whatever the connection uses at the moment."""
    return getattr(connections[using], "_riskreg_app_user", None) or connections[using].settings_dict["USER"]


@contextmanager
def as_owner(using: str = "default"):
    """Connect `using` as the owner role (MIGRATE_DATABASE_URL) for the block, then as the app again.

    The connection is closed on the way in and out, so it must not be inside a transaction.
    Without a separate owner role this does nothing.
    """
    connection = connections[using]
    if not two_roles(using) or getattr(connection, "_riskreg_app_user", None):
        yield connection
        return
    if connection.in_atomic_block:
        raise RuntimeError("Cannot switch to the owner role inside a transaction.")
    saved = {key: connection.settings_dict.get(key) for key in OWNER_KEYS}
    connection.close()
    connection._riskreg_app_user = saved["USER"]  # type: ignore[attr-defined]  # a mark of ours on the connection
    owner = settings.MIGRATE_DATABASE or {}  # two_roles() is true only when it is set
    connection.settings_dict.update({key: owner[key] for key in OWNER_KEYS})
    try:
        yield connection
    finally:
        connection.close()
        connection.settings_dict.update(saved)
        del connection._riskreg_app_user  # type: ignore[attr-defined]


def quote(connection, name: str) -> str:
    return connection.ops.quote_name(name)


def grant_app_role(using: str = "default") -> None:
    """Give the app role exactly its rights on every table and sequence (run as the owner, idempotent)."""
    from riskreg.audit.triggers import append_only_tables

    if not two_roles(using):
        return
    connection = connections[using]
    role = quote(connection, app_role(using))
    append_only = set(append_only_tables())
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = quote(connection, cursor.fetchone()[0])
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        tables = sorted(row[0] for row in cursor.fetchall())
        # One transaction: the app never sees a moment without its rights, nor one with more.
        cursor.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}")
        cursor.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {role}")
        by_rights: dict[str, list[str]] = {}
        for table in tables:
            rights = APPEND_ONLY if table in append_only else NARROW.get(table, LIVE)
            by_rights.setdefault(rights, []).append(quote(connection, table))
        for rights, names in by_rights.items():
            cursor.execute(f"GRANT {rights} ON {', '.join(names)} TO {role}")
        cursor.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
