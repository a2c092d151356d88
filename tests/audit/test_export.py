"""Exports stream, escape formulas, keep filters, and verify offline; tampering is named."""

import csv
import hashlib
import io
import json
import subprocess
import sys
import tracemalloc
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from conftest import postgres_only
from riskreg.audit import verify
from riskreg.audit.export import Export, csv_lines, escape_formula, jsonl_lines
from riskreg.audit.models import GENESIS_HASH, AuditEvent, AuditHead

pytestmark = pytest.mark.django_db
VERIFY = Path(verify.__file__)


def export_jsonl(**filters) -> str:
    out = io.StringIO()
    call_command("export_audit", "--format", "jsonl", *[f"--{k}={v}" for k, v in filters.items()], stdout=out)
    return out.getvalue()


def run_verifier(tmp_path, text, *args):
    """The verifier as an outside auditor runs it: its own file, isolated, without site-packages."""
    path = tmp_path / "audit.jsonl"
    path.write_text(text, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-I", "-S", str(VERIFY), str(path), *args], capture_output=True, text=True, timeout=60
    )


def head() -> str:
    out = io.StringIO()
    call_command("audit_head", stdout=out)
    return out.getvalue().strip()


def test_the_demo_trail_exported_after_seed_demo_verifies_offline(demo, tmp_path):
    text = export_jsonl()
    result = run_verifier(tmp_path, text, "--head", head())
    assert result.returncode == 0, result.stderr
    assert f"OK: {AuditEvent.objects.count()} events verified" in result.stdout


def test_python_m_runs_the_verifier_too(demo, tmp_path):
    path = tmp_path / "audit.jsonl"
    path.write_text(export_jsonl())
    result = subprocess.run([sys.executable, "-m", "riskreg.audit.verify", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def tamper(lines: list[str], how: str) -> list[str]:
    lines = list(lines)
    if how == "edit":
        event = json.loads(lines[4])
        event["username"] = "mallory"
        lines[4] = json.dumps(event) + "\n"
    elif how == "delete":
        del lines[4]
    elif how == "insert":
        lines.insert(4, lines[2])
    elif how == "reorder":
        lines[4], lines[5] = lines[5], lines[4]
    elif how == "rehash":
        # A forger who recomputes the edited event's own hash still breaks the next link.
        event = json.loads(lines[4])
        event["reason"] = "covered up"
        prev, _ = event.pop("prev_hash"), event.pop("hash")
        event["hash"] = verify.event_hash(prev, event)
        event["prev_hash"] = prev
        lines[4] = json.dumps(event) + "\n"
    return lines


@pytest.mark.parametrize(
    "how, message",
    [
        ("edit", "line 5: event 5 was altered"),
        ("delete", "line 5: event 5 missing before event 6"),
        ("insert", "line 5: event 3 is out of order (after event 4)"),
        ("reorder", "line 5: event 5 missing before event 6"),
        ("rehash", "line 6: event 6 does not follow event 5"),
    ],
)
def test_the_verifier_names_the_first_bad_line(demo, tmp_path, how, message):
    lines = export_jsonl().splitlines(keepends=True)
    result = run_verifier(tmp_path, "".join(tamper(lines, how)))
    assert result.returncode == 1
    assert message.split(": ", 1)[0] in result.stderr, result.stderr


def test_the_verifier_catches_a_reordered_pair_at_the_swapped_line(demo, tmp_path):
    lines = export_jsonl().splitlines(keepends=True)
    result = run_verifier(tmp_path, "".join(tamper(lines, "reorder")))
    assert result.returncode == 1
    assert "line 5:" in result.stderr and "event 6" in result.stderr


def test_a_truncated_file_passes_alone_and_fails_against_the_published_head(demo, tmp_path):
    lines = export_jsonl().splitlines(keepends=True)
    short = "".join(lines[:-3])
    assert run_verifier(tmp_path, short).returncode == 0
    result = run_verifier(tmp_path, short, "--head", head())
    assert result.returncode == 1
    assert "truncated" in result.stderr


def test_a_head_that_does_not_match_is_named(demo, tmp_path):
    seq = head().split(":")[0]
    result = run_verifier(tmp_path, export_jsonl(), "--head", f"{seq}:{'f' * 64}")
    assert result.returncode == 1
    assert "does not match the published head" in result.stderr


@pytest.mark.parametrize("text", ["", "not json\n", '{"seq": 1}\n'])
def test_the_verifier_refuses_files_that_are_not_a_trail(tmp_path, text):
    result = run_verifier(tmp_path, text)
    assert result.returncode == 1


def test_a_filtered_export_verifies_with_allow_gaps(demo, tmp_path):
    text = export_jsonl(model="decisions.ReleaseDecision")
    assert run_verifier(tmp_path, text).returncode == 1
    assert run_verifier(tmp_path, text, "--allow-gaps").returncode == 0
    assert {json.loads(line)["model"] for line in text.splitlines()} == {"decisions.ReleaseDecision"}


@pytest.mark.parametrize("value", ["=cmd|' /C calc'!A0", "+1", "-2", "@SUM(A1)", "\tx"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(value):
    assert escape_formula(value) == "'" + value
    assert escape_formula("plain") == "plain"


def test_the_csv_export_escapes_what_users_typed(db):
    from riskreg.frameworks.models import ThreatCategory

    ThreatCategory.objects.create(slug="x", name='=HYPERLINK("http://evil")')
    text = "".join(csv_lines(AuditEvent.objects.all()))
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and ',"=HYPERLINK' not in text


def test_export_audit_refuses_a_bad_date_and_writes_nothing(db, tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(CommandError, match="--since: Enter a valid date/time"):
        call_command("export_audit", "--since", "yesterday", "--output", str(target))
    assert not target.exists()


def test_export_audit_filters_by_time(demo):
    later = (timezone.now() + timedelta(days=1)).isoformat()
    assert export_jsonl(since=later) == ""
    assert export_jsonl(until=later).count("\n") == AuditEvent.objects.count()


def test_verify_audit_passes_on_the_demo_and_fails_on_a_broken_head(demo):
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "OK:" in out.getvalue()
    AuditHead.objects.filter(pk=1).update(seq=1)  # the head is state, not history
    with pytest.raises(CommandError, match="does not verify"):
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())


def _after_the_trail() -> tuple[int, str]:
    """The next sequence number and the hash to chain from: the trail may hold events already."""
    last = AuditEvent.objects.order_by("-seq").first()
    return (last.seq + 1, last.hash) if last else (1, GENESIS_HASH)


def _synthetic_events(count: int, start: int = 1, prev: str = GENESIS_HASH):
    """A valid chain of `count` events, written straight to the table (the trail itself)."""
    now = timezone.now()
    events = []
    for seq in range(start, start + count):
        event = AuditEvent(
            seq=seq, at=now, username="bench", action="~", model="risks.Risk", object_id=str(seq % 97),
            history_id=seq, reason="", changes={"title": {"old": f"t{seq}", "new": f"t{seq + 1}"}},
            record_sha256=hashlib.sha256(str(seq).encode()).hexdigest(), prev_hash=prev,
        )  # fmt: skip
        event.hash = verify.event_hash(prev, event.as_document())
        prev = event.hash
        events.append(event)
    AuditEvent.objects.bulk_create(events, batch_size=5000)
    return prev


def _peak_while_exporting(lines) -> int:
    tracemalloc.start()
    total = 0
    for line in lines:
        total += len(line)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


# Two chunks of the export's reader (export._rows reads 5,000 rows at a time, and two are alive while
# the next is read) against ten: with fewer than two chunks first, the peak grows with the rows up to
# there even when streaming (5k against 40k measured 2.1x). It was 10k against 100k (30 s of the suite).
FEW, MANY = 10_000, 50_000


def test_exporting_many_events_keeps_memory_flat(db):
    """Peak memory while exporting 50k events stays about what 10k need: it streams."""
    start, prev = _after_the_trail()  # the migrations have written events (the roles) already
    prev = _synthetic_events(FEW, start=start, prev=prev)
    peak_few = _peak_while_exporting(jsonl_lines(AuditEvent.objects.all()))
    _synthetic_events(MANY - FEW, start=start + FEW, prev=prev)
    peak_many = _peak_while_exporting(jsonl_lines(AuditEvent.objects.all()))
    # Five times the rows; a non-streaming export would need about five times the memory. (CSV reads
    # through the same iterator; the benchmark measures both at 1M.)
    assert peak_many < 2 * peak_few, (peak_few, peak_many)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_auditors_download_the_filtered_trail(client, auditor, demo, fmt):
    client.force_login(auditor)
    response = client.get(reverse("audit:export", args=[fmt]), {"model": "decisions.SignOff"})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Disposition"].startswith("attachment;")
    body = b"".join(response.streaming_content).decode()
    rows = body.strip().splitlines()[(1 if fmt == "csv" else 0) :]
    # the illustration decision ILLUS-1, signed by its two placeholder signers
    assert len(rows) == AuditEvent.objects.filter(model="decisions.SignOff").count() == 2


def test_a_bad_filter_on_the_export_is_a_400_not_a_500(client, auditor):
    client.force_login(auditor)
    response = client.get(reverse("audit:export", args=["csv"]), {"since": "soon"})
    assert response.status_code == 400
    assert b"Enter a valid date/time" in response.content


def _cells(text: str) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows[1:]:
        row[8] = json.loads(row[8])  # changes: the same JSON, whichever serialiser wrote it
    return rows


@postgres_only
def test_the_copy_csv_on_postgresql_has_the_cells_of_the_python_csv(demo):
    """COPY … TO STDOUT does the escaping and formatting in SQL: it must match the Python writer exactly."""
    from riskreg.audit.export import _copy_csv, _python_csv
    from riskreg.frameworks.models import ThreatCategory

    with transaction.atomic():
        for name in ['=HYPERLINK("http://evil")', "+1", "-x", "@SUM(A1)", "\tTab", "\rCR", "multi\nline, “quoted” ✓"]:
            category = ThreatCategory(slug=f"c{len(name)}{ord(name[0])}", name=name)
            category._change_reason = name
            category.save()
    events = AuditEvent.objects.all()
    copy_export, python_export = Export(_copy_csv, events), Export(_python_csv, events)
    copied, written = "".join(copy_export), "".join(python_export)
    assert _cells(copied) == _cells(written)
    assert copy_export.rows == python_export.rows == events.count() > 50
    filtered = AuditEvent.objects.filter(model="decisions.SignOff")
    assert _cells("".join(Export(_copy_csv, filtered))) == _cells("".join(Export(_python_csv, filtered)))
    assert "'=HYPERLINK" in copied and "'\tTab" in copied


def test_export_audit_says_how_many_events_it_wrote(demo, tmp_path, capsys):
    target = tmp_path / "trail.csv"
    err = io.StringIO()
    call_command("export_audit", "--format", "csv", "--output", str(target), stderr=err)
    count = AuditEvent.objects.count()
    assert f"Wrote {count} events" in err.getvalue()
    assert len(list(csv.reader(target.open(newline="", encoding="utf-8")))) == count + 1


def test_exporting_many_events_as_csv_keeps_memory_flat(db):
    start, prev = _after_the_trail()  # the migrations have written events (the roles) already
    prev = _synthetic_events(FEW, start=start, prev=prev)
    peak_few = _peak_while_exporting(csv_lines(AuditEvent.objects.all()))
    _synthetic_events(MANY - FEW, start=start + FEW, prev=prev)
    peak_many = _peak_while_exporting(csv_lines(AuditEvent.objects.all()))
    assert peak_many < 2 * peak_few, (peak_few, peak_many)
