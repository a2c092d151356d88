#!/usr/bin/env python3
"""Signed checkpoints at scale: what appending costs, audit_checkpoint at N events, and proof times.

    python scripts/with_postgres.py -- .venv/bin/python bench/checkpoint.py --events 1000000

In a throwaway PostgreSQL database (DATABASE_URL): fills the trail with a valid chain of N events
(COPY, setup only), then in one run
  1. appends `--appends` events one by one, each a tracked save in its own transaction (the app's
     write path), before any tree exists: today's cost;
  2. signs a checkpoint of all N events (the tree built from nothing: the worst case);
  3. appends as many events again, now with the tree and a checkpoint stored: the cost after;
  4. signs a second checkpoint (extending the tree by the new events only);
  5. makes `--proofs` inclusion proofs for random events and consistency proofs between the two
     checkpoints, each checked with verify.py's RFC 9162 checks.
Prints the figures and appends them to BENCHMARKS.md's run log.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment
os.environ.setdefault("AUDIT_SIGNING_KEY", str(Path(tempfile.mkdtemp(prefix="riskreg-bench-")) / "audit.key"))

import django  # noqa: E402

django.setup()

from audit_export import fill  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from record import record  # noqa: E402

from riskreg.audit import merkle, signing  # noqa: E402
from riskreg.audit.models import AuditCheckpoint, AuditEvent, AuditTreeNode  # noqa: E402
from riskreg.audit.verify import check_consistency, check_inclusion  # noqa: E402
from riskreg.frameworks.models import ThreatCategory  # noqa: E402


def append(count: int, start: int) -> float:
    """Milliseconds per appended event: one tracked save (history row + audit event) per transaction."""
    began = time.perf_counter()
    for i in range(start, start + count):
        with transaction.atomic():
            category = ThreatCategory(slug=f"bench-{i}", name=f"Bench {i}", order=i)
            category._change_reason = "benchmark"
            category.save()
    return (time.perf_counter() - began) * 1000 / count


def percentile(values, share) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * share))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--proofs", type=int, default=200)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        print("Run it under scripts/with_postgres.py (PostgreSQL).")
        return 2
    call_command("migrate", verbosity=0)
    if AuditEvent.objects.exists():
        print("The audit table is not empty: run this against a throwaway database.")
        return 2
    began = time.perf_counter()
    fill(args.events)
    print(f"filled {args.events:,} events in {time.perf_counter() - began:.1f} s", file=sys.stderr)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE audit_auditevent")
    signing.write(signing.generate("bench.riskreg.invalid/audit"), signing.key_path())

    append(200, 0)  # warm up
    before = append(args.appends, 1000)

    began = time.perf_counter()
    first, _ = merkle.make_checkpoint()
    first_seconds = time.perf_counter() - began
    nodes = AuditTreeNode.objects.count()

    after = append(args.appends, 1000 + args.appends)
    began = time.perf_counter()
    second, _ = merkle.make_checkpoint()
    second_seconds = time.perf_counter() - began

    rng = random.Random(18)
    inclusion = []
    for _ in range(args.proofs):
        seq = rng.randint(1, second.tree_size)
        began = time.perf_counter()
        proof = merkle.inclusion_proof(seq, second.tree_size)
        inclusion.append((time.perf_counter() - began) * 1000)
        leaf = bytes.fromhex(AuditEvent.objects.values_list("hash", flat=True).get(seq=seq))
        check_inclusion(seq - 1, second.tree_size, leaf, proof, bytes.fromhex(second.root_hash))
    consistency = []
    for _ in range(max(10, args.proofs // 10)):
        began = time.perf_counter()
        proof = merkle.consistency_proof(first.tree_size, second.tree_size)
        consistency.append((time.perf_counter() - began) * 1000)
    check_consistency(first.tree_size, second.tree_size, bytes.fromhex(first.root_hash),
                      bytes.fromhex(second.root_hash), proof)  # fmt: skip
    assert AuditCheckpoint.objects.count() == 2

    n = args.events
    print(f"machine: {os.cpu_count()} cores, PostgreSQL {connection.pg_version // 10000}; events: {n:,}")
    print(f"append, one tracked save per transaction: {before:.2f} ms before any tree, {after:.2f} ms with the "
          f"tree and a checkpoint stored ({after / before:.2f}×)")  # fmt: skip
    print(f"audit_checkpoint over {first.tree_size:,} events (tree built from nothing): {first_seconds:.1f} s, "
          f"{nodes:,} nodes stored")  # fmt: skip
    print(f"audit_checkpoint after {args.appends:,} more events: {second_seconds * 1000:.0f} ms")
    p50, p95 = statistics.median(inclusion), percentile(inclusion, 0.95)
    c50 = statistics.median(consistency)
    print(f"inclusion proof at {second.tree_size:,} events: p50 {p50:.2f} ms, p95 {p95:.2f} ms; "
          f"consistency proof p50 {c50:.2f} ms")  # fmt: skip
    record("bench/checkpoint.py", f"PostgreSQL {connection.pg_version // 10000}", f"{n:,} audit events",
           f"append {before:.2f} → {after:.2f} ms/event ({after / before:.2f}×); first checkpoint "
           f"{first_seconds:.1f} s ({nodes:,} nodes); next {second_seconds * 1000:.0f} ms; "
           f"inclusion proof p95 {p95:.2f} ms; consistency p50 {c50:.2f} ms")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
