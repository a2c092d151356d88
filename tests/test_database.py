import os

from django.db import connection


def test_it_runs_on_the_database_make_test_asked_for():
    """The PostgreSQL pass sets DATABASE_URL; a silent fall-back to SQLite would prove nothing."""
    expected = "postgresql" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    assert connection.vendor == expected
