"""The demo, seeded once and then loaded as raw rows: the `demo` fixture's fast path.

Seeding the demo through the models (riskreg.demo.loader.DemoSeeder: full_clean, history, the audit chain,
a Merkle tree and a signed checkpoint) takes seconds; about a hundred tests ask for it. The first
test that asks seeds it for real and records what the seeding changed in every table: the rows it
inserted (history, audit events, tree nodes and the checkpoint included), the rows it updated (the
chain head) and, on SQLite, the AUTOINCREMENT counters. A later test whose database is the same as
the recorded one before the seeding (every row of every table compared) and whose signing key file
is the one the checkpoint was signed with gets the same rows inserted inside its own transaction,
in one go; any other test (a transactional one, one whose database or key differs) is seeded for
real, as before.

PostgreSQL: the app role may not UPDATE an approved decision nor INSERT the parts of one, so a
decision goes in as the draft it started as, its parts after it, and then it takes the lifecycle
steps that brought it to its recorded status (the trigger checks each step, as for the seeder).
Sequences are moved on with nextval (the app role may not setval) to at least where the seeding
left them; as today, ids on PostgreSQL differ from test to test anyway (sequences are not rolled back).
"""

import copy
import hashlib
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection

from riskreg.decisions.models import ReleaseDecision

SQLITE_SEQUENCE = "sqlite_sequence"

# The lifecycle steps (riskreg/decisions/lifecycle.py) from a new draft to each recorded status.
_TO_APPROVED = {"decided": [("submit", "in_review", "decided"), ("approve", "approved", "decided")],
                "published_source": [("record", "approved", "published_source")]}  # fmt: skip


def _steps(status: str, provenance: str) -> list[tuple[str, str, str]]:
    if status == "draft" and provenance == "decided":
        return []
    if status == "in_review" and provenance == "decided":
        return [("submit", "in_review", "decided")]
    if status == "rejected" and provenance == "decided":
        return [("submit", "in_review", "decided"), ("reject", "rejected", "decided")]
    if status == "approved":
        return list(_TO_APPROVED[provenance])
    if status == "superseded":
        return [*_TO_APPROVED[provenance], ("supersede", "superseded", provenance)]
    raise AssertionError(f"demo snapshot: no lifecycle path to a {status} decision ({provenance})")


@dataclass
class Table:
    name: str
    columns: list[str]
    key: str | None  # the primary key column; None: the whole row is its key
    rows: dict = field(default_factory=dict)  # key -> row tuple


@dataclass
class Snapshot:
    report: object
    key_file: bytes | None
    inserted: list[tuple[str, list[str], list[tuple]]]  # in load order
    updated: list[tuple[str, list[str], str, list[tuple]]]
    deleted: list[tuple[str, str, list]]
    sequences: dict[str, int]  # PostgreSQL: the sequences' last values after the seeding


def _value(value):
    return bytes(value) if isinstance(value, memoryview) else value


def _dump() -> dict[str, Table]:
    """Every row of every table (and SQLite's AUTOINCREMENT counters), by primary key."""
    tables = {}
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
        if connection.vendor == "sqlite":
            names = [*names, SQLITE_SEQUENCE]
        for name in names:
            if name == SQLITE_SEQUENCE:
                key = "name"
            else:
                key = connection.introspection.get_primary_key_column(cursor, name)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(name)}")
            columns = [column[0] for column in cursor.description]
            table = Table(name, columns, key)
            index = columns.index(key) if key else None
            for row in cursor.fetchall():
                row = tuple(_value(value) for value in row)
                table.rows[row[index] if key else row] = row
            tables[name] = table
    return tables


def _fingerprint(tables: dict[str, Table]) -> str:
    digest = hashlib.sha256()
    for name in sorted(tables):
        table = tables[name]
        digest.update(repr((name, table.columns, sorted(table.rows.values(), key=repr))).encode())
    digest.update(repr((settings.AUDIT_ORIGIN, _key_path())).encode())
    return digest.hexdigest()


def _key_path():
    from riskreg.audit import signing

    return signing.key_path()


def _key_file() -> bytes | None:
    path = _key_path()
    return path.read_bytes() if path is not None and path.exists() else None


def _load_order(names) -> list[str]:
    """Tables with the ones a foreign key points to first (triggers check a referenced row at INSERT)."""
    with connection.cursor() as cursor:
        needs = {
            name: {table for _column, (_ref, table) in connection.introspection.get_relations(cursor, name).items()}
            - {name}
            for name in names
            if name != SQLITE_SEQUENCE
        }
    order, placed = [], set()
    while needs:
        ready = sorted(name for name, wanted in needs.items() if not (wanted & set(needs)))
        if not ready:  # a cycle (foreign keys are deferred): the rest in name order
            ready = sorted(needs)
        for name in ready:
            order.append(name)
            placed.add(name)
            del needs[name]
    return order


def _sequences() -> dict[str, int]:
    if connection.vendor != "postgresql":
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename), coalesce(last_value, 0) "
            "FROM pg_sequences WHERE schemaname = current_schema()"
        )
        return dict(cursor.fetchall())


def _record(before: dict[str, Table], after: dict[str, Table], report) -> Snapshot:
    inserted, updated, deleted = [], [], []
    for name in [*_load_order(after), *([SQLITE_SEQUENCE] if SQLITE_SEQUENCE in after else [])]:
        new, old = after[name], before.get(name)
        old_rows = old.rows if old else {}
        rows = [row for key, row in sorted(new.rows.items(), key=lambda item: repr(item[0])) if key not in old_rows]
        if name != SQLITE_SEQUENCE and new.key is not None:
            rows.sort(key=lambda row: row[new.columns.index(new.key)])
        if rows:
            inserted.append((name, new.columns, rows))
        changed = [row for key, row in new.rows.items() if key in old_rows and old_rows[key] != row]
        if changed:
            updated.append((name, new.columns, new.key, changed))
        gone = [key for key in old_rows if key not in new.rows]
        if gone:
            deleted.append((name, new.key, gone))
    return Snapshot(copy.deepcopy(report), _key_file(), inserted, updated, deleted, _sequences())


def _load(snapshot: Snapshot) -> None:
    quote = connection.ops.quote_name
    decisions = ReleaseDecision._meta.db_table
    promote = []
    with connection.cursor() as cursor:
        for name, key, gone in snapshot.deleted:
            for value in gone:
                cursor.execute(f"DELETE FROM {quote(name)} WHERE {quote(key)} = %s", [value])
        for name, columns, rows in snapshot.inserted:
            if name == SQLITE_SEQUENCE:
                continue
            if name == decisions:  # each decision starts as a draft; the steps below move it on
                status, provenance, ident = (columns.index(c) for c in ("status", "provenance", "id"))
                promote = [(row[ident], _steps(row[status], row[provenance])) for row in rows]
                rows = [_as_draft(row, status, provenance) for row in rows]
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(
                f"INSERT INTO {quote(name)} ({', '.join(quote(c) for c in columns)}) VALUES ({placeholders})",
                [_param(row) for row in rows],
            )
        for name, columns, key, rows in snapshot.updated:
            if name == SQLITE_SEQUENCE:
                continue
            assignments = ", ".join(f"{quote(c)} = %s" for c in columns if c != key)
            index = columns.index(key)
            cursor.executemany(
                f"UPDATE {quote(name)} SET {assignments} WHERE {quote(key)} = %s",
                [_param([v for i, v in enumerate(row) if i != index] + [row[index]]) for row in rows],
            )
        for pk, steps in promote:
            for step, status, provenance in steps:
                if connection.vendor == "postgresql":
                    cursor.execute("SELECT set_config('riskreg.lifecycle_step', %s, true)", [step])
                cursor.execute(
                    f"UPDATE {quote(decisions)} SET status = %s, provenance = %s WHERE id = %s",
                    [status, provenance, pk],
                )
        if connection.vendor == "postgresql" and promote:
            cursor.execute("SELECT set_config('riskreg.lifecycle_step', '', true)")
        _restore_counters(cursor, snapshot)


def _as_draft(row, status: int, provenance: int) -> tuple:
    row = list(row)
    row[status], row[provenance] = "draft", "decided"
    return tuple(row)


def _param(row):
    if connection.vendor != "postgresql":
        return list(row)
    from psycopg.types.json import Jsonb

    return [Jsonb(value) if isinstance(value, dict | list) else value for value in row]


def _restore_counters(cursor, snapshot: Snapshot) -> None:
    """SQLite: AUTOINCREMENT counters exactly as the seeding left them. PostgreSQL: sequences at least there."""
    for name, _columns, rows in snapshot.inserted + [(n, c, r) for n, c, _k, r in snapshot.updated]:
        if name != SQLITE_SEQUENCE:
            continue
        for table, seq in rows:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [seq, table])
            if cursor.rowcount == 0:
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, seq])
    if not snapshot.sequences:
        return
    now = _sequences()
    for sequence, wanted in snapshot.sequences.items():
        behind = wanted - now.get(sequence, wanted)
        if behind > 0:
            cursor.execute("SELECT count(nextval(%s)) FROM generate_series(1, %s)", [sequence, behind])


_snapshots: dict[str, Snapshot] = {}
counts = {"seeded": 0, "loaded": 0}  # shown at the end of the run (conftest.pytest_terminal_summary)


def demo():
    """What `DemoSeeder().run(with_accounts=False)` would do here, loaded from a snapshot when one fits."""
    from riskreg.demo.loader import DemoSeeder

    if not connection.in_atomic_block:  # a transactional test: its commits and on_commit hooks are real
        counts["seeded"] += 1
        return DemoSeeder().run(with_accounts=False)
    before = _dump()
    fingerprint = _fingerprint(before)
    snapshot = _snapshots.get(fingerprint)
    if snapshot is not None and snapshot.key_file == _key_file():
        _load(snapshot)
        counts["loaded"] += 1
        return copy.deepcopy(snapshot.report)
    report = DemoSeeder().run(with_accounts=False)
    counts["seeded"] += 1
    _snapshots[fingerprint] = _record(before, _dump(), report)
    return report
