#!/usr/bin/env python3
"""verify_audit at scale, against a plain SELECT of the rows it reads.

    python scripts/with_postgres.py -- .venv/bin/python bench/verify_audit.py --evaluations 100000 --events 1000000
    # or, on a database generate_data has already filled:
    .venv/bin/python bench/verify_audit.py --existing

Fills the (throwaway) database named by DATABASE_URL with seed_demo and generate_data, then, in
the same run:
  - a plain SELECT of every row verify_audit reads (the audit table, every history table and
    every live table of a tracked model), streamed with server-side cursors and discarded;
  - `manage.py verify_audit` in a fresh process, with its peak resident memory (process start-up
    subtracted from its time);
  - the live-row check alone (riskreg/audit/live.py), in this process.
"""

import argparse
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from record import record  # noqa: E402

from riskreg.audit.live import check_live_rows, tracked_models  # noqa: E402
from riskreg.audit.models import AuditEvent  # noqa: E402
from riskreg.audit.triggers import append_only_tables  # noqa: E402
from riskreg.evaluations.models import Evaluation  # noqa: E402
from riskreg.lib.dbroles import as_owner  # noqa: E402


def tables() -> list[str]:
    live = {model._meta.db_table for model in tracked_models()}
    live |= {field.remote_field.through._meta.db_table for model in tracked_models()
             for field in model.history.model._history_m2m_fields}  # fmt: skip
    return sorted(live | set(append_only_tables()))


def time_select() -> tuple[float, int]:
    """Every row of those tables through a server-side cursor, fetched and dropped."""
    rows = 0
    start = time.perf_counter()
    with transaction.atomic():
        for table in tables():
            with connection.chunked_cursor() as cursor:
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
                while batch := cursor.fetchmany(2000):
                    rows += len(batch)
    return time.perf_counter() - start, rows


def run(*args) -> tuple[float, float, int]:
    """Seconds, peak RSS (MB) and exit status of manage.py in a fresh process.

    The peak comes from GNU time, which forks the command from its own small process: this
    process's RUSAGE_CHILDREN would count its own size at the fork (it ran generate_data).
    """
    start = time.perf_counter()
    command = ["/usr/bin/time", "-f", "peak-kb %M", sys.executable, str(ROOT / "manage.py"), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
    peak = int(done.stderr.rsplit("peak-kb ", 1)[1].split()[0]) / 1024
    return seconds, peak, done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=100_000, help="evaluations to generate (100,000)")
    parser.add_argument("--events", type=int, default=1_000_000, help="audit events to generate (1,000,000)")
    parser.add_argument("--existing", action="store_true", help="measure the database as it is")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Run this under scripts/with_postgres.py: the figures are for PostgreSQL.")
        return 2
    call_command("migrate", verbosity=0)
    if not args.existing:
        if AuditEvent.objects.exists():
            print("The database is not empty: run this against a throwaway one, or give --existing.")
            return 2
        start = time.perf_counter()
        call_command("seed_demo", stdout=open(os.devnull, "w"))
        call_command("generate_data", "--models", "50", "--evaluations", str(args.evaluations),
                     "--risks", str(args.evaluations // 10), "--decisions", str(args.evaluations // 50),
                     "--events", str(args.events))  # fmt: skip
        print(f"generated in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    with as_owner() as owner, owner.cursor() as cursor:  # the app role owns no table to vacuum
        cursor.execute("VACUUM ANALYZE")
    events, evaluations = AuditEvent.objects.count(), Evaluation.objects.count()

    startup, _, _ = run("check")
    select_seconds, rows = time_select()
    verify_seconds, peak, status = run("verify_audit")
    start = time.perf_counter()
    mismatches = check_live_rows()
    live_seconds = time.perf_counter() - start
    verify_work = verify_seconds - startup

    print(f"machine: {os.cpu_count()} cores, CPython {platform.python_version()}, "
          f"PostgreSQL {connection.pg_version // 10000}; {events:,} events, {evaluations:,} evaluations")  # fmt: skip
    print(f"plain SELECT of {rows:,} rows ({len(tables())} tables): {select_seconds:7.2f} s")
    print(f"verify_audit (exit {status}):              {verify_work:7.2f} s  = {verify_work / select_seconds:.1f}× "
          f"the SELECT, peak RSS {peak:.0f} MB")  # fmt: skip
    print(f"  of which the live-row check:         {live_seconds:7.2f} s  ({len(mismatches)} mismatches)")
    print(f"(process start-up {startup:.2f} s, subtracted)")
    record("bench/verify_audit.py", f"PostgreSQL {connection.pg_version // 10000}",
           f"{events:,} audit events, {evaluations:,} evaluations; {rows:,} rows read",
           f"SELECT {select_seconds:.1f} s; verify_audit {verify_work:.1f} s ({verify_work / select_seconds:.1f}×), "
           f"live-row check {live_seconds:.1f} s, peak {peak:.0f} MB, exit {status}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
