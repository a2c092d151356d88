#!/usr/bin/env python3
"""Import of a large Inspect log: time and peak memory.

    .venv/bin/python bench/import.py [--samples 10000] [--format json|eval]

Generates a log of N samples (each with a short conversation and scores, as inspect-ai writes
them) into a temporary folder, then imports it into a throwaway SQLite database (or the database
of DATABASE_URL) in a fresh process, and prints the file size, the import time and the import
process's peak resident memory.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETUP_SCRIPT = """
from django.db import transaction
from riskreg.evaluations.models import AIModel, Snapshot
from riskreg.frameworks.models import ThreatCategory
with transaction.atomic():
    model = AIModel.objects.create(slug="bench", name="Bench", developer="bench")
    snapshot = Snapshot.objects.create(model=model, name="final", kind="final")
    ThreatCategory.objects.create(slug="cyber", name="Cyber")
print(snapshot.pk)
"""


def make_log(samples: int) -> dict:
    return {
        "version": 2,
        "status": "success",
        "eval": {
            "eval_id": f"bench{samples}",
            "run_id": "bench",
            "created": "2026-11-22T00:00:00+00:00",
            "task": "bench_task",
            "task_version": 1,
            "model": "mockllm/model",
            "packages": {"inspect_ai": "0.3.285"},
            "dataset": {"name": "bench", "samples": samples},
            "config": {"epochs": 1},
        },
        "stats": {"started_at": "2026-11-22T00:00:00+00:00", "completed_at": "2026-11-22T01:00:00+00:00"},
        "results": {
            "total_samples": samples,
            "completed_samples": samples,
            "headline": {"scorer": "includes", "metric": "accuracy"},
            "scores": [{"name": "includes", "metrics": {"accuracy": {"value": 0.5}, "stderr": {"value": 0.005}}}],
        },
        "samples": [
            {
                "id": i,
                "epoch": 1,
                "input": f"Question {i}: " + "lorem ipsum " * 20,
                "target": "A",
                "messages": [
                    {"role": "user", "content": "lorem ipsum " * 30},
                    {"role": "assistant", "content": "A " * 40},
                ],
                "output": {"completion": "A"},
                "scores": {"includes": {"value": "C" if i % 2 else "I", "answer": "A"}},
            }
            for i in range(samples)
        ],
    }


def write(log: dict, folder: Path, fmt: str) -> Path:
    if fmt == "json":
        path = folder / "bench.json"
        path.write_text(json.dumps(log))
        return path
    from backports.zstd import zipfile

    path = folder / "bench.eval"
    header = {k: v for k, v in log.items() if k != "samples"}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_ZSTANDARD) as archive:
        archive.writestr("_journal/start.json", json.dumps({"version": 2, "eval": log["eval"], "plan": {}}))
        for sample in log["samples"]:
            archive.writestr(f"samples/{sample['id']}_epoch_1.json", json.dumps(sample))
        summaries = [{"id": s["id"], "epoch": 1, "scores": s["scores"]} for s in log["samples"]]
        archive.writestr("summaries.json", json.dumps(summaries))
        archive.writestr("header.json", json.dumps(header))
    return path


MEASURE = """
import resource, sys, time
sys.argv = ["manage.py", *sys.argv[1:]]
start = time.perf_counter()
from django.core.management import execute_from_command_line
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment
execute_from_command_line(sys.argv)
print(f"{time.perf_counter() - start} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}", file=sys.stderr)
"""


def measured(arguments, env) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a manage.py command, as its own process reports them."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *arguments], check=True, env=env, cwd=ROOT, capture_output=True, text=True
    )
    seconds, peak = result.stderr.strip().splitlines()[-1].split()
    return float(seconds), float(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--format", choices=["json", "eval"], default="json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = write(make_log(args.samples), folder, args.format)
        env = dict(os.environ, MEDIA_ROOT=str(folder / "media"))
        env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "-v0"], check=True, env=env)
        setup = SETUP_SCRIPT
        snapshot = subprocess.run(
            manage + ["shell", "--no-imports", "-c", setup], check=True, env=env, capture_output=True, text=True
        ).stdout.strip()
        # The import and a bare start-up each run in a fresh process that reports its own peak memory.
        seconds, peak = measured(["import_inspect", str(path), "--snapshot", snapshot, "--category", "cyber"], env)
        startup, startup_peak = measured(["check"], env)
        size = path.stat().st_size
    print(f"machine: {os.cpu_count()} cores; database: {env['DATABASE_URL'].split(':')[0]}")
    print(
        f"{args.format} log, {args.samples:,} samples, {size / 1e6:.1f} MB: import command {seconds:.2f} s, "
        f"peak RSS {peak:.0f} MB; a bare start-up (manage.py check) takes {startup:.2f} s, {startup_peak:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
