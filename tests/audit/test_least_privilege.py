"""Issue 14: the app's own database credentials cannot empty, rewrite or switch off the trail.

Each test runs connected as the app's role (scripts/with_postgres.py: `riskreg`, no superuser,
owning nothing) and tries one attack of the issue; PostgreSQL refuses it.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from conftest import requires_two_roles
from riskreg.audit.chain import verify_database

pytestmark = [requires_two_roles, pytest.mark.django_db]

ATTACKS = [
    # 1. empty the trail, with the escape hatch that used to exist
    "SET riskreg.allow_truncate = 'on'; TRUNCATE audit_auditevent",
    "TRUNCATE risks_historicalrisk, evaluations_historicalevaluation",
    "TRUNCATE risks_historicalrisk_evaluations",
    # 2. switch the triggers off as the table's owner, then rewrite
    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "ALTER TABLE risks_historicalrisk DISABLE TRIGGER ALL",
    "DROP TRIGGER riskreg_append_only ON audit_auditevent",
    "CREATE OR REPLACE FUNCTION riskreg_append_only() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
    # rewrite or remove events and history rows
    "UPDATE audit_auditevent SET user_id = NULL, username = 'someone else' WHERE seq = 1",
    "DELETE FROM audit_auditevent WHERE seq > 1",
    "UPDATE evaluations_historicalevaluation SET outcome = 'below_threshold'",
    "DELETE FROM decisions_historicaldetermination_cited_evaluations",
    # the Merkle tree and the signed checkpoints (issue 18)
    "UPDATE audit_audittreenode SET hash = repeat('0', 64)",
    "DELETE FROM audit_audittreenode",
    "TRUNCATE audit_auditcheckpoint",
    "UPDATE audit_auditcheckpoint SET tree_size = 1",
    "DELETE FROM audit_auditcheckpoint",
    # 5. a superuser's switch for every trigger
    "SET session_replication_role = replica",
    # the app makes no tables of its own
    "CREATE TABLE audit_shadow (id int)",
]


@pytest.mark.parametrize("statement", ATTACKS)
def test_the_app_role_is_refused(demo, statement):
    with pytest.raises(DatabaseError, match="permission denied|must be owner"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(statement)
    assert verify_database().ok


def test_the_app_role_is_no_superuser_and_owns_nothing(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (False, False, False)
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relowner = "
            "(SELECT oid FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone() == (0,)


def test_the_app_role_may_only_select_and_insert_on_the_trail(db):
    from riskreg.audit.triggers import append_only_tables

    with connection.cursor() as cursor:
        for table in append_only_tables():
            for right, allowed in [("SELECT", True), ("INSERT", True), ("UPDATE", False), ("DELETE", False),
                                   ("TRUNCATE", False), ("TRIGGER", False), ("REFERENCES", False)]:  # fmt: skip
                cursor.execute("SELECT has_table_privilege(current_user, %s, %s)", [table, right])
                assert cursor.fetchone()[0] is allowed, (table, right)
