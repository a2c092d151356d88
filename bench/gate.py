#!/usr/bin/env python3
"""The release gate for a decision citing 1,000 evaluations: time per call and queries per call.

    .venv/bin/python bench/gate.py [--evaluations 1000] [--runs 200]
    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/gate.py

Builds a decision whose determination cites N evaluations (with evidence) in a throwaway SQLite
database (or the database of DATABASE_URL), then calls gate() repeatedly and prints p50/p95 time
and the number of queries per call.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="riskreg-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
    os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from riskreg.audit.chain import bulk_create_with_history
    from riskreg.decisions.gate import gate
    from riskreg.demo.loader import DemoSeeder
    from riskreg.evaluations.models import Evaluation, Evidence, Snapshot
    from riskreg.frameworks.models import ThreatCategory

    call_command("migrate", verbosity=0)
    DemoSeeder().run(with_accounts=False)
    from riskreg.decisions.models import ReleaseDecision

    decision = ReleaseDecision.objects.get(reference="GA-DRAFT")
    determination = decision.determinations.get(category__slug="cyber")
    snapshot = Snapshot.objects.get(pk=decision.snapshot_id)
    cyber = ThreatCategory.objects.get(slug="cyber")
    user = decision.author
    with transaction.atomic():
        evaluations = bulk_create_with_history(
            [
                Evaluation(snapshot=snapshot, category=cyber, title=f"bench {i}", kind="automated_benchmark",
                           run_by="bench", finding="f", source_section="bench", recorded_by=user, score=i,
                           outcome="saturated" if i % 3 == 0 else "below_threshold")
                for i in range(args.evaluations)
            ],
            Evaluation, user=user,
        )  # fmt: skip
        bulk_create_with_history(
            [Evidence(evaluation=e, kind="note", title="n", note="bench", added_by=user) for e in evaluations],
            Evidence, user=user,
        )  # fmt: skip
        determination._history_user = user
        determination.cited_evaluations.add(*evaluations)

    if os.environ.get("PROFILE"):
        import cProfile
        import pstats

        cProfile.runctx("for _ in range(20): gate(decision)", globals(), locals(), "/tmp/gate.prof")
        pstats.Stats("/tmp/gate.prof").sort_stats("tottime").print_stats(14)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would soon after a bulk insert
    gate(decision)  # warm up
    with CaptureQueriesContext(connection) as captured:
        report = gate(decision)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        gate(decision)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p95 = times[int(len(times) * 0.95) - 1]
    cited = determination.cited_evaluations.count()
    print(f"machine: {os.cpu_count()} cores; database: {connection.vendor}; cited evaluations: {cited:,}")
    print(f"gate(): p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms over {args.runs} calls; "
          f"{len(captured.captured_queries)} queries per call; result {report.status}")  # fmt: skip
    sys.path.insert(0, str(ROOT / "bench"))
    from record import record

    record("bench/gate.py", connection.vendor, f"a decision citing {cited:,} evaluations",
           f"p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
           f"{len(captured.captured_queries)} queries")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
