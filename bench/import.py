#!/usr/bin/env python3
"""Import of a large Inspect log, and of hostile ones: time and peak memory.

    .venv/bin/python bench/import.py [--samples 10000] [--format json|eval]
    .venv/bin/python bench/import.py --hostile [--only TEXT]
    .venv/bin/python bench/import.py --request 6 [--request 50]

--hostile builds the files an attacker would send (issue 15): an .eval of a few hundred KB whose
summaries unpack to 32 MB of `[{},{},…]` each, one of many such members, a 50 MB .json of `[{},…]`,
a .json log whose samples are 50 MB of `{}`, a zip of 200,000 empty members and a header of one
huge string; and (issue 27) a 22 KB .eval of a started run whose four journal parts unpack to 61 MB
each of samples of 620,000 `{}` (within every byte limit, but 82 million JSON values to parse). It
reports, for each, the command's answer, its time, its CPU time and its peak memory. --only keeps
the files whose label contains TEXT (e.g. --only "issue 27").

--request N (issue 27, the multi-file request): N runs of the most work the value limits accept for
one log (each its own eval_id), sent in one API request (POST /api/imports/ with an evaluator's token,
through Django's test client in a process of its own) and given to one run of the command; it reports
each file's answer, the time, the CPU time and the peak memory. Add --other-model to import them into
a snapshot known by another model's name (the mismatch refused from the header).

Generates a log of N samples (each with a short conversation and scores, as inspect-ai writes
them) into a temporary folder, then imports it into a throwaway SQLite database (or the database
of DATABASE_URL) in a fresh process, and prints the file size, the import time and the import
process's peak resident memory.
"""

import argparse
import json
import os
import struct
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
    snapshot = Snapshot.objects.create(model=model, name="final", kind="final", model_identifiers="mockllm/model")
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
try:
    execute_from_command_line(sys.argv)
finally:  # a refused file exits 1: its figures count too
    # VmHWM is this program's own high-water mark; ru_maxrss would include the benchmark's memory
    # that the process inherited before exec (Linux keeps the larger of the two across exec).
    status = open("/proc/self/status").read()
    hwm = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    peak = int(hwm[0].split()[1]) / 1024 if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{time.perf_counter() - start} {usage.ru_utime + usage.ru_stime} {peak}", file=sys.stderr)
"""


def measured(arguments, env, answer: list | None = None) -> tuple[float, float, float]:
    """Seconds, CPU seconds and peak RSS (MB) of a manage.py command, as its own process reports them."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *arguments], check=answer is None, env=env, cwd=ROOT, capture_output=True,
        text=True,
    )  # fmt: skip
    if answer is not None:
        lines = (result.stdout + result.stderr).strip().splitlines()
        said = next((line for line in lines if "refused —" in line or "imported —" in line), lines[0] if lines else "")
        answer.append(said.split(" — ", 1)[-1][:150])
    last = result.stderr.strip().splitlines()[-1].split()
    seconds, cpu, peak = last[-3:]
    return float(seconds), float(cpu), float(peak)


def _zip(path: Path, members: dict, count_only: int = 0) -> Path:
    import zipfile as plain

    with plain.ZipFile(path, "w", compression=plain.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for number in range(count_only):
            archive.writestr(f"samples/{number}_epoch_1.json", b"")
    return path


def cpu_amplifier(path: Path, parts: int = 4, samples: int = 33, empties: int = 620_000) -> Path:
    """Issue 27: a started run (no header) whose journal summary parts hold samples of `empties` empty
    objects each: 22 KB on disk, 61 MB per part unpacked, within every byte limit, but each `{}` is a
    value to parse (4 x 33 x 620,000 = 82 million)."""
    from backports.zstd import zipfile

    start = {"version": 2, "eval": {**make_log(1)["eval"], "eval_id": "cpu-amplifier"}, "plan": {}}
    row = b'{"id":1,"epoch":1,"metadata":[' + b"{}," * (empties - 1) + b"{}]}"
    part = b"[" + b",".join([row] * samples) + b"]"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_ZSTANDARD, compresslevel=19) as archive:
        archive.writestr("_journal/start.json", json.dumps(start))
        for number in range(1, parts + 1):
            archive.writestr(f"_journal/summaries/{number}.json", part)
    return path


ISSUE_27 = [  # (label, parts, samples, empties)
    ("issue 27: started run, 4 zstd journal parts of 61 MB, 33 samples of 620,000 {} each", 4, 33, 620_000),
    ("issue 27: the most work within the value limits, 4 parts of 6 samples of 660,000 {} (within the limit)",
     4, 6, 660_000),
]  # fmt: skip


def most_work(path: Path, eval_id: str) -> Path:
    """The most work the value limits accept for one log (ISSUE_27's second file), under its own eval_id."""
    from backports.zstd import zipfile

    _, parts, samples, empties = ISSUE_27[1]
    cpu_amplifier(path, parts, samples, empties)
    with zipfile.ZipFile(path) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["_journal/start.json"] = members["_journal/start.json"].replace(b'"cpu-amplifier"',
                                                                            json.dumps(eval_id).encode())  # fmt: skip
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_ZSTANDARD, compresslevel=19) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


API_REQUEST = """
import json, os
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.test.utils import setup_test_environment
from riskreg.accounts.models import ApiToken
from riskreg.accounts.roles import EVALUATOR
setup_test_environment()  # the test client's host name; nothing else of a test
snapshot, paths = os.environ["BENCH_SNAPSHOT"], os.environ["BENCH_FILES"].split(",")
with transaction.atomic():
    user = get_user_model().objects.create_user(username=f"bench-{len(paths)}-{snapshot}", password="bench-pw-xyz")
    user.groups.add(Group.objects.get(name=EVALUATOR))
    raw = ApiToken.issue(user, "bench")[1]
files = [SimpleUploadedFile(path.rsplit("/", 1)[-1], open(path, "rb").read()) for path in paths]
response = Client().post("/api/imports/", {"log": files, "snapshot": snapshot, "category": "cyber"},
                         headers={"authorization": f"Bearer {raw}"})
answer = response.json()
print(response.status_code, json.dumps([[r["status"], r["message"][:110]] for r in answer.get("results", [])]))
"""


def request(count: int, other_model: bool) -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        env = dict(os.environ, MEDIA_ROOT=str(folder / "media"), DEBUG="1")  # a throwaway database
        env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "-v0"], check=True, env=env)
        setup = SETUP_SCRIPT.replace('"mockllm/model"', '"anthropic/other"') if other_model else SETUP_SCRIPT
        snapshot = subprocess.run(
            manage + ["shell", "--no-imports", "-c", setup], check=True, env=env, capture_output=True, text=True
        ).stdout.strip()
        startup, startup_cpu, startup_peak = measured(["check"], env)
        print(f"machine: {os.cpu_count()} cores; database: {env['DATABASE_URL'].split(':')[0]}")
        print(f"a bare start-up (manage.py check): {startup:.2f} s, CPU {startup_cpu:.2f} s, peak RSS "
              f"{startup_peak:.0f} MB")  # fmt: skip
        for way in ("api", "command"):
            paths = [most_work(folder / f"{way}{n}.eval", f"{way}-run-{n}") for n in range(1, count + 1)]
            size = sum(path.stat().st_size for path in paths)
            if way == "api":
                files = {"BENCH_SNAPSHOT": snapshot, "BENCH_FILES": ",".join(map(str, paths))}
                result = subprocess.run([sys.executable, "-c", MEASURE, "shell", "--no-imports", "-c", API_REQUEST],
                                        env={**env, **files}, cwd=ROOT, capture_output=True, text=True)  # fmt: skip
                said = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-500:]
                status, _, listed = said.partition(" ")
                answers = [f"{a}: {m}" for a, m in json.loads(listed)] if listed.startswith("[") else [said]
            else:
                result = subprocess.run([sys.executable, "-c", MEASURE, "import_inspect", *map(str, paths),
                                         "--snapshot", snapshot, "--category", "cyber"], env=env, cwd=ROOT,
                                        capture_output=True, text=True)  # fmt: skip
                status = f"exit {result.returncode}"
                answers = [line.split(": ", 1)[-1][:130] for line in result.stdout.splitlines() if line.startswith("[")]
            seconds, cpu, peak = (float(x) for x in result.stderr.strip().splitlines()[-1].split()[-3:])
            print(f"\n{way}: {count} files, {size / 1e3:.0f} KB in all: {status}; {seconds:.2f} s, CPU {cpu:.2f} s, "
                  f"peak RSS {peak:.0f} MB")  # fmt: skip
            for number, answer in enumerate(answers, start=1):
                if number <= 3 or number == len(answers):
                    print(f"  file {number}: {answer}")
                elif number == 4:
                    print("  …")
    return 0


def hostile_files(folder: Path, only: str = "") -> list[tuple[str, Path]]:
    amplifiers = [(label, cpu_amplifier(folder / f"cpu{number}.eval", parts, samples, empties))
                  for number, (label, parts, samples, empties) in enumerate(ISSUE_27) if only in label]  # fmt: skip
    if only and "issue 27" in only:
        return amplifiers
    header = make_log(1)
    header.pop("samples")
    header["eval"]["eval_id"] = "hostile"
    header_bytes = json.dumps(header).encode()

    def header_for(eval_id: str) -> bytes:
        return header_bytes.replace(b'"hostile"', json.dumps(eval_id).encode())

    start = json.dumps({"version": 2, "eval": header["eval"], "plan": {}}).encode()
    spam = b"[" + b"{}," * (32 * 1024 * 1024 // 3 - 1) + b"{}]"  # 32 MB of empty objects
    files = [
        ("four 32 MB summaries of [{},…]", _zip(folder / "four.eval", {
            "header.json": header_bytes, "summaries.json": spam, **{f"_journal/summaries/{n}.json": spam
                                                                    for n in range(1, 4)}})),
        ("crashed run, 60 journal parts of 32 MB [{},…]", _zip(folder / "sixty.eval", {
            "_journal/start.json": start, **{f"_journal/summaries/{n}.json": spam for n in range(1, 61)}})),
        ("200,000 empty members", _zip(folder / "members.eval", {"header.json": header_bytes}, count_only=200_000)),
        ("99,999 empty members (within the limit)", _zip(folder / "members-ok.eval", {"header.json": header_for("ok1")},
                                                         count_only=99_999)),  # fmt: skip
        ("header of one 60 MB string", _zip(folder / "string.eval", {
            "header.json": b'{"version": 2, "eval": {"eval_id": "s", "task": "t", "metadata": {"x": "'
            + b"x" * (60 * 1024 * 1024) + b'"}}}'})),
    ]
    within = b"[" + b"{}," * (2 * 1024 * 1024 // 3 - 1000) + b"{}]"  # just under the 2 MB header limit
    files.append(("header with 2 MB of [{},…] (within the limit)", _zip(folder / "header-spam.eval", {
        "header.json": header_for("ok2")[:-1] + b', "metadata": ' + within + b"}"})))
    one = folder / "one-sample.json"
    with one.open("wb") as out:  # one sample just under the 4 MB sample limit, of empty objects
        out.write(header_for("ok3")[:-1] + b', "samples": [{"x": [' + b"{}," * (2 * 1024 * 1024 // 3 - 100)
                  + b"{}]}]}")  # fmt: skip
    files.append((".json log with one 2 MB sample of {} (within the limit)", one))
    lying = folder / "lying.eval"  # one entry repeated a million times in the directory; the end record says 1
    one = _zip(folder / "one.eval", {"header.json": header_for("lying")}).read_bytes()
    at = one.rfind(b"PK\x05\x06")
    size, offset = struct.unpack("<II", one[at + 12 : at + 20])
    end = bytearray(one[at:])
    end[8:12] = struct.pack("<HH", 1, 1)
    end[12:16] = struct.pack("<I", size * 1_000_001)
    with lying.open("wb") as out:
        out.write(one[:offset])
        for _ in range(1_000_001):
            out.write(one[offset : offset + size])
        out.write(bytes(end))
    files.append(("directory of 1,000,001 entries, end record says 1", lying))
    many = folder / "metrics.json"  # 180,000 metrics in one score, inside the header limit
    log = json.loads(header_for("metrics"))
    log["results"]["scores"][0]["metrics"] = {str(i): 1 for i in range(180_000)}
    many.write_text(json.dumps(log, separators=(",", ":")))
    files.append(("180,000 metrics in one score", many))
    flat = folder / "array.json"
    with flat.open("wb") as out:
        out.write(b"[" + b"{}," * (50 * 1024 * 1024 // 3) + b"{}]")
    files.append(("50 MB .json of [{},…]", flat))
    samples = folder / "samples.json"
    with samples.open("wb") as out:
        out.write(header_bytes[:-1] + b', "samples": [' + b"{}," * (50 * 1024 * 1024 // 3) + b"{}]}")
    files.append((".json log with 50 MB of {} samples", samples))
    return [(label, path) for label, path in files if only in label] + amplifiers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--format", choices=["json", "eval"], default="json")
    parser.add_argument("--hostile", action="store_true", help="Measure the hostile files instead.")
    parser.add_argument("--only", default="", help="With --hostile: only the files whose label contains this.")
    parser.add_argument("--request", type=int, default=0, metavar="N",
                        help="Measure one API request and one command run of N of the most work one log may be.")
    parser.add_argument("--other-model", action="store_true", help="With --request: a snapshot of another model.")
    args = parser.parse_args()
    if args.request:
        return request(args.request, args.other_model)
    if args.hostile:
        return hostile(args.only)
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        path = write(make_log(args.samples), folder, args.format)
        env = dict(os.environ, MEDIA_ROOT=str(folder / "media"), DEBUG="1")  # a throwaway database
        env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "-v0"], check=True, env=env)
        setup = SETUP_SCRIPT
        snapshot = subprocess.run(
            manage + ["shell", "--no-imports", "-c", setup], check=True, env=env, capture_output=True, text=True
        ).stdout.strip()
        # The import and a bare start-up each run in a fresh process that reports its own peak memory.
        seconds, _, peak = measured(["import_inspect", str(path), "--snapshot", snapshot, "--category", "cyber"], env)
        startup, _, startup_peak = measured(["check"], env)
        size = path.stat().st_size
    print(f"machine: {os.cpu_count()} cores; database: {env['DATABASE_URL'].split(':')[0]}")
    print(
        f"{args.format} log, {args.samples:,} samples, {size / 1e6:.1f} MB: import command {seconds:.2f} s, "
        f"peak RSS {peak:.0f} MB; a bare start-up (manage.py check) takes {startup:.2f} s, {startup_peak:.0f} MB"
    )
    return 0


def hostile(only: str = "") -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        env = dict(os.environ, MEDIA_ROOT=str(folder / "media"), DEBUG="1")  # a throwaway database
        env.setdefault("DATABASE_URL", f"sqlite:///{folder / 'bench.sqlite3'}")
        manage = [sys.executable, str(ROOT / "manage.py")]
        subprocess.run(manage + ["migrate", "-v0"], check=True, env=env)
        snapshot = subprocess.run(
            manage + ["shell", "--no-imports", "-c", SETUP_SCRIPT], check=True, env=env, capture_output=True, text=True
        ).stdout.strip()
        startup, startup_cpu, startup_peak = measured(["check"], env)
        print(f"machine: {os.cpu_count()} cores; database: {env['DATABASE_URL'].split(':')[0]}")
        print(f"a bare start-up (manage.py check): {startup:.2f} s, CPU {startup_cpu:.2f} s, peak RSS "
              f"{startup_peak:.0f} MB")  # fmt: skip
        print("| file | size | answer | time | CPU | peak RSS |")
        print("|---|---|---|---|---|---|")
        for label, path in hostile_files(folder, only):
            answer: list = []
            seconds, cpu, peak = measured(
                ["import_inspect", str(path), "--snapshot", snapshot, "--category", "cyber"], env, answer
            )
            print(f"| {label} | {path.stat().st_size / 1e6:.2f} MB | {answer[0]} | {seconds:.2f} s | {cpu:.2f} s "
                  f"| {peak:.0f} MB |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
