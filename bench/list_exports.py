#!/usr/bin/env python3
"""The list pages' CSV exports: time and peak memory at growing sizes, against COPY of the same columns.

    python scripts/with_postgres.py -- .venv/bin/python bench/list_exports.py --sizes 1000,10000,100000

Fills the (throwaway) database named by DATABASE_URL with seed_demo, then with generate_data up to
each size of evaluations in turn (risks and decisions at a tenth and a fiftieth of it). At each size:
  - `/evaluations/?export=csv`, `/risks/?export=csv` and `/decisions/?export=csv`, each downloaded
    whole in a fresh process (through the view, as a logged-in superuser, the body counted and
    dropped), with that process's peak resident memory from GNU time and its time to the last byte;
  - on PostgreSQL, `COPY (SELECT <the evaluations export's columns> …) TO STDOUT` in this process,
    streamed and dropped: the floor the export is measured against.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
# DEBUG off, as deployed (DEBUG on would also keep every query's text in memory).
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from record import record  # noqa: E402

from riskreg.evaluations.models import Evaluation  # noqa: E402

LISTS = ["evaluations", "risks", "decisions"]

# The evaluations export's cells in SQL, for COPY: the same joins, the evidence hashes aggregated per row, and
# the provenance the export reads (section, mark, note, confidence; issue 28).
COPY_SQL = """
SELECT e.title, m.name || ' — ' || s.name, c.name, e.kind, e.outcome, e.score, e.is_external, e.source_section,
       e.source_mark, e.source_note, e.confidence,
       (SELECT string_agg(v.sha256, ' ' ORDER BY v.id) FROM {evidence} v WHERE v.evaluation_id = e.id AND v.sha256 > '')
FROM {evaluation} e JOIN {snapshot} s ON s.id = e.snapshot_id JOIN {model} m ON m.id = s.model_id
JOIN {category} c ON c.id = e.category_id
ORDER BY e.id DESC
"""


def child(name: str) -> int:
    """Download one export through its view in this process; print rows and seconds."""
    from django.urls import resolve

    user = get_user_model().objects.filter(is_superuser=True).first()
    path = f"/{name}/"
    request = RequestFactory().get(path, {"export": "csv"})
    request.user = user
    start = time.perf_counter()
    response = resolve(path).func(request)
    lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
    print(f"lines {lines} seconds {time.perf_counter() - start:.3f}")
    return 0


def run_child(name: str) -> tuple[int, float, float]:
    command = ["/usr/bin/time", "-f", "peak-kb %M", sys.executable, __file__, "--child", name]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{name} export failed:\n{done.stdout}{done.stderr}")
    words = done.stdout.split()
    peak = int(done.stderr.rsplit("peak-kb ", 1)[1].split()[0]) / 1024
    return int(words[1]) - 1, float(words[3]), peak


def baseline_peak() -> float:
    command = ["/usr/bin/time", "-f", "peak-kb %M", sys.executable, __file__, "--child", "none"]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return int(done.stderr.rsplit("peak-kb ", 1)[1].split()[0]) / 1024


def time_copy() -> tuple[float, int]:
    from riskreg.evaluations.models import Evidence, Snapshot

    names = {"evaluation": Evaluation, "evidence": Evidence, "snapshot": Snapshot,
             "model": Snapshot._meta.get_field("model").related_model,
             "category": Evaluation._meta.get_field("category").related_model}  # fmt: skip
    sql = COPY_SQL.format(**{key: connection.ops.quote_name(model._meta.db_table) for key, model in names.items()})
    size = lines = 0
    start = time.perf_counter()
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
            for block in copy:
                size += len(block)
                lines += bytes(block).count(b"\n")
    return time.perf_counter() - start, lines - 1


def fill(evaluations: int, seed: int) -> None:
    have = Evaluation.objects.count()
    if have >= evaluations:
        return
    more = evaluations - have
    call_command("generate_data", models=10, evaluations=more, risks=max(1, more // 10),
                 decisions=max(1, more // 50), events=0, seed=seed, verbosity=0)  # fmt: skip
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="evaluations at each step (comma-separated)")
    parser.add_argument("--existing", action="store_true", help="measure the database as it is, no filling")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return 0 if args.child == "none" else child(args.child)

    if not args.existing:
        call_command("migrate", verbosity=0)
        call_command("seed_demo", verbosity=0)
    with transaction.atomic():
        user_model = get_user_model()
        if not user_model.objects.filter(is_superuser=True).exists():
            user = user_model(username="bench-admin", is_superuser=True, is_staff=True)
            user.set_unusable_password()
            user._change_reason = "bench"
            user.save()
    sizes = [Evaluation.objects.count()] if args.existing else [int(size) for size in args.sizes.split(",")]
    base = baseline_peak()
    print(f"database {connection.vendor}; a bare process (django.setup, no export) peaks at {base:.0f} MB")
    print("| evaluations | export | rows | time | rows/s | peak RSS | COPY of the evaluations columns "
          "| export × COPY |")
    print("|---|---|---|---|---|---|---|---|")
    summary = []
    for step, size in enumerate(sizes, start=1):
        if not args.existing:
            fill(size, seed=100 + step)
        copy_seconds, copy_rows = time_copy() if connection.vendor == "postgresql" else (None, None)
        for name in LISTS:
            rows, seconds, peak = run_child(name)
            ratio = ""
            copy_cell = ""
            if name == "evaluations" and copy_seconds is not None:
                ratio = f"{seconds / copy_seconds:.2f}×"
                copy_cell = f"{copy_seconds:.2f} s ({copy_rows:,} rows)"
                summary.append(f"{rows:,} evaluations: {seconds:.2f} s, {peak:.0f} MB, COPY {copy_seconds:.2f} s")
            elif name == "evaluations":
                summary.append(f"{rows:,} evaluations: {seconds:.2f} s, {peak:.0f} MB")
            print(f"| {Evaluation.objects.count():,} | {name} | {rows:,} | {seconds:.2f} s | {rows / seconds:,.0f} "
                  f"| {peak:.0f} MB | {copy_cell} | {ratio} |", flush=True)  # fmt: skip
    record("bench/list_exports.py", connection.vendor, f"up to {sizes[-1]:,} evaluations",
           "; ".join(summary) + f"; bare process {base:.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
