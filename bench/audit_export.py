#!/usr/bin/env python3
"""Audit export at scale: riskreg's streamed CSV and JSON Lines against PostgreSQL's own COPY.

    python scripts/with_postgres.py -- .venv/bin/python bench/audit_export.py --events 1000000

Fills the audit table of the (throwaway) PostgreSQL database named by DATABASE_URL with a valid
chain of N events, then, in the same run:
  - COPY (SELECT … ORDER BY seq) TO STDOUT WITH CSV of the same columns, read and discarded;
  - `manage.py export_audit --format csv` and `--format jsonl` to /dev/null, each in a fresh
    process, with that process's peak resident memory.
Prints rows/s for each, the ratio to COPY, and peak memory. Needs PostgreSQL.
"""

import argparse
import hashlib
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from record import record  # noqa: E402

from riskreg.audit.models import GENESIS_HASH, AuditEvent, AuditHead  # noqa: E402
from riskreg.audit.verify import canonical_json, event_hash  # noqa: E402

COLUMNS = ["seq", "at", "username", "action", "model", "object_id", "object_repr", "reason", "changes",
           "prev_hash", "hash"]  # fmt: skip


def fill(count: int) -> None:
    """Write a valid chain of `count` events with COPY (setup only; not what is measured)."""
    now = datetime.now(UTC)
    prev = GENESIS_HASH
    fields = ["seq", "at", "user_id", "username", "action", "model", "object_id", "object_repr", "history_id",
              "reason", "changes", "record_sha256", "prev_hash", "hash"]  # fmt: skip
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(f"COPY audit_auditevent ({', '.join(fields)}) FROM STDIN") as copy:
            for seq in range(1, count + 1):
                document = {
                    "seq": seq, "at": now.isoformat(), "user_id": None, "username": "bench", "action": "~",
                    "model": "risks.Risk", "object_id": str(seq % 997), "object_repr": f"R{seq % 997} A risk",
                    "history_id": seq, "reason": "benchmark",
                    "changes": {"residual_likelihood": {"old": seq % 5 + 1, "new": (seq + 1) % 5 + 1}},
                    "record_sha256": hashlib.sha256(str(seq).encode()).hexdigest(),
                }  # fmt: skip
                digest = event_hash(prev, document)
                copy.write_row([
                    seq, now, None, "bench", "~", "risks.Risk", document["object_id"], document["object_repr"], seq,
                    "benchmark", canonical_json(document["changes"]).decode(), document["record_sha256"], prev, digest,
                ])  # fmt: skip
                prev = digest
                if seq % 100_000 == 0:
                    print(f"  filled {seq:,} events", file=sys.stderr, flush=True)
    AuditHead.objects.update_or_create(pk=1, defaults={"seq": count, "hash": prev})


def time_copy() -> tuple[float, int]:
    sql = f"COPY (SELECT {', '.join(COLUMNS)} FROM audit_auditevent ORDER BY seq) TO STDOUT WITH CSV HEADER"
    size = 0
    start = time.perf_counter()
    with connection.cursor() as cursor:
        with cursor.connection.cursor().copy(sql) as copy:
            for block in copy:
                size += len(block)
    return time.perf_counter() - start, size


def time_export(fmt: str) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of `manage.py export_audit` in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "export_audit", "--format", fmt, "--output", os.devnull],
        check=True, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest child so far, in KiB
    return seconds, max(peak, before) / 1024


def startup_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "check"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to export (default 1,000,000)")
    parser.add_argument("--existing", action="store_true",
                        help="export the events already in the database (e.g. from generate_data) instead of filling")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("This benchmark compares against PostgreSQL's COPY: run it under scripts/with_postgres.py.")
        return 2
    call_command("migrate", verbosity=0)
    if args.existing:
        args.events = AuditEvent.objects.count()
    elif AuditEvent.objects.exists():
        print("The audit table is not empty: run this against a throwaway database, or give --existing.")
        return 2
    else:
        t = time.perf_counter()
        fill(args.events)
        print(f"filled {args.events:,} events in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")

    startup = startup_seconds()
    copy_seconds, copy_bytes = time_copy()
    csv_seconds, csv_peak = time_export("csv")
    jsonl_seconds, jsonl_peak = time_export("jsonl")

    n = args.events
    print(f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
          f"PostgreSQL {connection.pg_version // 10000}; events: {n:,}")  # fmt: skip
    print(
        f"COPY TO STDOUT (CSV):  {copy_seconds:7.2f} s  {n / copy_seconds:12,.0f} rows/s  ({copy_bytes / 1e6:.0f} MB)"
    )
    for label, seconds, peak in (
        ("export_audit csv", csv_seconds, csv_peak),
        ("export_audit jsonl", jsonl_seconds, jsonl_peak),
    ):
        work = seconds - startup  # Django start-up is not export work
        print(
            f"{label + ':':22} {seconds:7.2f} s  {n / work:12,.0f} rows/s  "
            f"= {copy_seconds / work:5.1%} of COPY  peak RSS {peak:6.0f} MB"
        )
    print(f"(process start-up {startup:.2f} s, subtracted from the export times)")
    csv_work = csv_seconds - startup
    record("bench/audit_export.py", f"PostgreSQL {connection.pg_version // 10000}", f"{n:,} audit events",
           f"COPY {n / copy_seconds:,.0f} rows/s; export_audit CSV {n / csv_work:,.0f} rows/s "
           f"({copy_seconds / csv_work:.0%} of COPY), peak {csv_peak:.0f} MB; "
           f"JSONL {n / (jsonl_seconds - startup):,.0f} rows/s, peak {jsonl_peak:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
