#!/usr/bin/env python3
"""The decision record's PDF: time to make it for a demo decision, and for the longest texts allowed.

    .venv/bin/python bench/record_pdf.py [--runs 5]

In a throwaway SQLite database with the demo seeded, makes the PDF of ILLUS-1 (the demo's signed
decision) `--runs` times; then fills every prose field the record prints (rationale, conditions,
scope, each determination's reasoning) to the limit (PROSE_LIMIT characters) with 220-character
addresses, and makes it again. Last, the same long text with the
record's break opportunities switched off (WeasyPrint then retries each overflowing word one
character at a time), rationale only, to show what the filter saves.
Prints median seconds and pages.
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
sys.path.insert(0, str(ROOT / "bench"))


def _pages(document: bytes) -> int:
    """The page count as poppler's pdfinfo reads it (0 when pdfinfo is not installed)."""
    import shutil
    import subprocess

    if shutil.which("pdfinfo") is None:
        return 0
    info = subprocess.run(["pdfinfo", "-"], input=document, capture_output=True, check=True).stdout.decode()
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="riskreg-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{folder}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "riskreg.settings")
    os.environ.setdefault("DEBUG", "1")  # a throwaway benchmark database, never a deployment
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django

    django.setup()
    from django.core.management import call_command
    from record import record

    from riskreg.decisions import record as decision_record
    from riskreg.decisions.models import PROSE_LIMIT, Determination, ReleaseDecision
    from riskreg.decisions.templatetags import record_text
    from riskreg.demo.loader import DemoSeeder

    call_command("migrate", verbosity=0)
    DemoSeeder().run(with_accounts=False)
    decision = ReleaseDecision.objects.get(reference="ILLUS-1")

    def timed(runs: int) -> tuple[float, int]:
        times, document = [], b""
        for _ in range(runs):
            start = time.perf_counter()
            document = decision_record.pdf(decision.pk)
            times.append(time.perf_counter() - start)
        return statistics.median(times), _pages(document)

    demo, demo_pages = timed(args.runs)
    long_text = " ".join(["https://example.org/" + "a" * 200] * 200)[:PROSE_LIMIT]  # addresses only
    ReleaseDecision.objects.filter(pk=decision.pk).update(rationale=long_text, conditions=long_text,
                                                          scope_details=long_text)  # fmt: skip
    Determination.objects.filter(decision=decision).update(reasoning=long_text)
    limit, limit_pages = timed(max(1, args.runs // 2))

    ReleaseDecision.objects.filter(pk=decision.pk).update(rationale=long_text, conditions="",
                                                          scope_details="")  # fmt: skip
    Determination.objects.filter(decision=decision).update(reasoning="")
    with_breaks, _ = timed(1)
    original = record_text.LONG_WORD
    record_text.LONG_WORD = __import__("re").compile(r"(?!x)x")  # matches nothing: no break opportunities
    try:
        without_breaks, _ = timed(1)
    finally:
        record_text.LONG_WORD = original

    determinations = Determination.objects.filter(decision=decision).count()
    print(f"demo decision ILLUS-1: {demo:.2f} s median of {args.runs}, {demo_pages} pages")
    print(f"every printed text at the limit ({PROSE_LIMIT:,} characters × {3 + determinations} fields): "
          f"{limit:.2f} s, {limit_pages} pages")  # fmt: skip
    print(f"rationale of {PROSE_LIMIT:,} characters with long addresses: {with_breaks:.2f} s with break "
          f"opportunities, {without_breaks:.2f} s without ({without_breaks / with_breaks:.1f}×)")  # fmt: skip
    record("bench/record_pdf.py", "sqlite", "demo; prose at PROSE_LIMIT",
           f"ILLUS-1 {demo:.2f} s ({demo_pages} pages); all prose at the limit {limit:.2f} s ({limit_pages} pages); "
           f"long addresses {with_breaks:.2f} s with breaks, {without_breaks:.2f} s without")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
