"""The `demo` fixture's snapshot (tests/demo_snapshot.py) gives the rows the seeder writes."""

import demo_snapshot
from django.db import connection, transaction

from riskreg.audit.chain import verify_database
from riskreg.demo.loader import DemoSeeder


def _shape(tables):
    """Per table, how many rows, and on SQLite (ids rolled back with the transaction) which ids."""
    ids = connection.vendor == "sqlite"
    return {name: (len(table.rows), sorted(map(repr, table.rows)) if ids else None) for name, table in tables.items()}


def _in_a_savepoint(load):
    point = transaction.savepoint()
    report = load()
    tables = demo_snapshot._dump()
    problems = verify_database().problems
    transaction.savepoint_rollback(point)
    return report, tables, problems


def test_the_snapshot_loads_the_rows_seeding_writes_and_its_trail_verifies(db):
    seeded, by_seeder, seeder_problems = _in_a_savepoint(lambda: DemoSeeder().run(with_accounts=False))
    _in_a_savepoint(demo_snapshot.demo)  # seeds and records, unless an earlier test has
    loaded, by_snapshot, snapshot_problems = _in_a_savepoint(demo_snapshot.demo)  # loads
    assert demo_snapshot._fingerprint(demo_snapshot._dump()) in demo_snapshot._snapshots
    assert seeder_problems == snapshot_problems == []
    assert _shape(by_snapshot) == _shape(by_seeder)
    assert loaded.created == seeded.created and loaded.kept == seeded.kept
    assert loaded.checkpoint.tree_size == seeded.checkpoint.tree_size
