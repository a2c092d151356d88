"""Backup and restore with PostgreSQL's own tools (the recipe in README.md): everything comes back."""

import glob
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from conftest import postgres_only
from riskreg.demo.loader import DemoSeeder

ROOT = Path(__file__).resolve().parent.parent


def pg_tool(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if not found:
        pytest.fail(f"{name} not found: the backup recipe needs PostgreSQL's client tools")
    return found


def table_counts(conn) -> dict[str, int]:
    tables = [row[0] for row in conn.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")]  # fmt: skip
    return {table: conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def table_digest(conn, table: str) -> str:
    return conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM \"{table}\" t").fetchone()[0]


@postgres_only
def test_a_dump_restored_into_an_empty_database_brings_back_every_record_history_row_and_the_chain(
    committed_db, tmp_path
):
    DemoSeeder().run(with_accounts=False)
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("generate_data", "--models", "3", "--evaluations", "300", "--risks", "50", "--decisions", "10",
                 "--events", "2000", "--seed", "11", **quiet)  # fmt: skip
    settings_dict = connection.settings_dict
    env = dict(os.environ, PGPASSWORD=settings_dict["PASSWORD"] or "")
    where = ["-h", settings_dict["HOST"], "-p", str(settings_dict["PORT"]), "-U", settings_dict["USER"]]
    dump = tmp_path / "riskreg.dump"
    subprocess.run([pg_tool("pg_dump"), *where, "--format=custom", "--file", str(dump), settings_dict["NAME"]],
                   check=True, env=env)  # fmt: skip
    restored = f"{settings_dict['NAME']}_restored"
    # The owner role makes and fills the restored database (the app role may not), then migrate grants
    # the app role its rights there, as the README says.
    owner = settings.MIGRATE_DATABASE or settings_dict
    as_owner = ["-h", settings_dict["HOST"], "-p", str(settings_dict["PORT"]), "-U", owner["USER"]]
    owner_env = dict(os.environ, PGPASSWORD=owner["PASSWORD"] or "")
    subprocess.run([pg_tool("dropdb"), *as_owner, "--if-exists", restored], check=True, env=owner_env)
    subprocess.run([pg_tool("createdb"), *as_owner, restored], check=True, env=owner_env)
    try:
        restore = [pg_tool("pg_restore"), *as_owner, "--no-owner", "--exit-on-error", "--dbname", restored, str(dump)]
        subprocess.run(restore, check=True, env=owner_env)
        if settings.MIGRATE_DATABASE:
            owner_url = (f"postgres://{owner['USER']}:{owner['PASSWORD'] or ''}@{settings_dict['HOST']}:"
                         f"{settings_dict['PORT']}/{restored}")  # fmt: skip
            app_url = (f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST']}:"
                       f"{settings_dict['PORT']}/{restored}")  # fmt: skip
            urls = {"DATABASE_URL": app_url, "MIGRATE_DATABASE_URL": owner_url}
            migrated = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT,
                                      capture_output=True, text=True, env=dict(os.environ, **urls))  # fmt: skip
            assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        url = (f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST']}:"
               f"{settings_dict['PORT']}")  # fmt: skip
        original_url, restored_url = f"{url}/{settings_dict['NAME']}", f"{url}/{restored}"
        with psycopg.connect(original_url) as original, psycopg.connect(restored_url) as copy:
            before, after = table_counts(original), table_counts(copy)
            assert after == before
            assert before["audit_auditevent"] >= 2000 and before["evaluations_historicalevaluation"] > 300
            for table in before:
                assert table_digest(copy, table) == table_digest(original, table), table
        # verify_audit checks the checkpoints against the configured key only (issue 27): the demo's key file
        app_env = dict(os.environ, DATABASE_URL=f"{url}/{restored}", MIGRATE_DATABASE_URL="",
                       AUDIT_SIGNING_KEY=settings.AUDIT_SIGNING_KEY)  # fmt: skip
        verified = subprocess.run([sys.executable, "manage.py", "verify_audit"], cwd=ROOT, capture_output=True,
                                  text=True, env=app_env)  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "OK:" in verified.stdout
        # The restored database keeps refusing edits to the trail.
        with psycopg.connect(f"{url}/{restored}") as copy:
            with pytest.raises(psycopg.Error):
                copy.execute("UPDATE audit_auditevent SET reason = 'rewritten' WHERE seq = 1")
    finally:
        subprocess.run([pg_tool("dropdb"), *as_owner, "--if-exists", restored], check=True, env=owner_env)
