"""Append a benchmark's figures as one line of the run log at the end of BENCHMARKS.md."""

import os
import platform
from datetime import date
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"
HEADING = "## Run log"


def machine(database: str) -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory:.0f} GiB, CPython {platform.python_version()}, {database}"


def record(script: str, database: str, data: str, figures: str) -> None:
    """One table row: date, script, machine, data size, figures. Skipped when BENCH_NO_RECORD is set."""
    if os.environ.get("BENCH_NO_RECORD"):
        return
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    if HEADING not in text:
        text = text.rstrip("\n") + (
            f"\n\n{HEADING}\n\nOne line per run of a script under `bench/`, appended by the script itself.\n\n"
            "| date | script | machine | data | figures |\n|---|---|---|---|---|\n"
        )
    cells = [date.today().isoformat(), f"`{script}`", machine(database), data, figures]
    text = text.rstrip("\n") + "\n| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |\n"
    BENCHMARKS.write_text(text)
