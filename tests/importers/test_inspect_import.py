"""Importing Inspect logs: the shared samples, logs of every shape built here, bad files, re-import."""

import io
import json
import os
import zipfile as stdlib_zipfile
from pathlib import Path

import pytest
from backports.zstd import zipfile as zstd_zipfile
from django.conf import settings
from django.core.management import CommandError, call_command
from django.urls import reverse

import factories as make
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation, Evidence, ImportedRun
from riskreg.importers.service import OutcomeRule, import_log

pytestmark = pytest.mark.django_db
# Logs written by inspect-ai 0.3.285 (copied from the shared reference samples).
SAMPLES = Path(__file__).resolve().parent / "samples"
SHARED = {
    "2026-11-22T06-15-57-00-00_tiny-qa_BLAPArHexWNvtFDQvc4tiS.json": (4, 4, 0),
    "2026-11-22T06-16-02-00-00_tiny-qa_ezsSEsdwWqpgn7qsNFt3Jg.json": (5, 4, 1),
    "2026-11-22T06-21-37-00-00_tiny-qa_AUTim9gRa9z2wiyoWZfPBo.eval": (5, 4, 1),
}


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def target():
    snapshot = make.snapshot(known_as="mockllm/model\nprovider/model-x")
    return {"snapshot": snapshot, "category": make.category("cyber"), "user": make.user("importer")}


def written(media):
    files = [p for p in Path(media).rglob("*") if p.is_file()] if Path(media).exists() else []
    return (
        Evaluation.objects.count(),
        ImportedRun.objects.count(),
        Evidence.objects.count(),
        AuditEvent.objects.count(),
        len(files),
    )


def log_dict(
    status="success",
    eval_id="evalA",
    epochs=1,
    n=4,
    headline=True,
    version=2,
    stderr=0.2,
    accuracy=0.75,
    sample_scores=("C", "I", "C", "C"),
):
    log = {
        "version": version,
        "status": status,
        "eval": {
            "eval_id": eval_id,
            "run_id": "run1",
            "created": "2026-11-20T10:00:00+00:00",
            "task": "cyber_ctf",
            "task_version": 3,
            "model": "provider/model-x",
            "packages": {"inspect_ai": "0.3.290"},
            "dataset": {"name": "ctf", "samples": n},
            "config": {"epochs": epochs},
        },
        "stats": {"started_at": "2026-11-20T10:00:01+00:00", "completed_at": "2026-11-20T10:05:00+00:00"},
        "samples": [
            {"id": i + 1, "epoch": e + 1, "scores": {"includes": {"value": sample_scores[i % len(sample_scores)]}}}
            for e in range(epochs)
            for i in range(n)
        ],
    }
    if status in ("success", "cancelled"):
        log["results"] = {
            "total_samples": n * epochs,
            "completed_samples": n * epochs,
            "scores": [
                {
                    "name": "includes",
                    "metrics": {
                        "accuracy": {"name": "accuracy", "value": accuracy},
                        "stderr": {"name": "stderr", "value": stderr},
                    },
                },
                {"name": "match", "metrics": {"accuracy": {"name": "accuracy", "value": 0.5}}},
            ],
        }
        if headline:
            log["results"]["headline"] = {"scorer": "includes", "metric": "accuracy"}
    if status == "error":
        log["error"] = {"message": "RuntimeError('provider down')", "traceback": "..."}
        log["samples"][0]["error"] = {"message": "provider down"}
    return log


def as_json(log) -> bytes:
    return json.dumps(log, allow_nan=True).encode()


def as_eval(log, compression=zstd_zipfile.ZIP_ZSTANDARD, crashed=False) -> bytes:
    buffer = io.BytesIO()
    header = {key: value for key, value in log.items() if key != "samples"}
    summaries = [
        {"id": s["id"], "epoch": s["epoch"], "scores": s["scores"], **({"error": "x"} if s.get("error") else {})}
        for s in log["samples"]
    ]
    with zstd_zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        archive.writestr(
            "_journal/start.json", json.dumps({"version": log["version"], "eval": log["eval"], "plan": {}})
        )
        for sample in log["samples"]:
            archive.writestr(f"samples/{sample['id']}_epoch_{sample['epoch']}.json", json.dumps(sample))
        archive.writestr("_journal/summaries/1.json", json.dumps(summaries))
        if not crashed:
            archive.writestr("summaries.json", json.dumps(summaries))
            archive.writestr("header.json", json.dumps(header, allow_nan=True))
    return buffer.getvalue()


def run(target, content: bytes, name: str, rule=None):
    file = io.BytesIO(content)
    file.size = len(content)
    return import_log(file, name, rule=rule, **target)


def _header(path: Path) -> dict:
    """The log's own header, read independently of riskreg's reader."""
    if path.suffix == ".json":
        return json.loads(path.read_bytes())
    with zstd_zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("header.json"))


@pytest.mark.parametrize("name", sorted(SHARED))
def test_the_shared_sample_logs_import_with_their_numbers(target, name):
    path = SAMPLES / name
    with path.open("rb") as handle:
        handle.size = path.stat().st_size
        result = import_log(handle, name, **target)
    assert result.status == "imported", result.message
    evaluation = result.evaluation
    run_row = evaluation.imported_run
    total, completed, errors = SHARED[name]
    assert (run_row.status, run_row.task, run_row.model, run_row.producer_version) == (
        "success",
        "tiny_qa",
        "mockllm/model",
        "0.3.285",
    )
    assert (run_row.total_samples, run_row.completed_samples, run_row.sample_errors) == (total, completed, errors)
    assert run_row.eval_id == _header(path)["eval"]["eval_id"]
    assert evaluation.finished_on.isoformat() == _header(path)["stats"]["completed_at"][:10]
    assert evaluation.score == 0.75 and evaluation.score_unit == "includes/accuracy"
    assert evaluation.kind == "automated_benchmark" and evaluation.outcome == "not_assessed"
    assert {m["scorer"] for m in run_row.metrics} == {"includes", "match"}
    piece = evaluation.evidence.get()
    assert piece.sha256 == run_row.file_sha256 and piece.size == path.stat().st_size
    assert piece.file.read() == path.read_bytes()


@pytest.mark.parametrize("fmt", ["json", "eval-zstd", "eval-deflate"])
def test_a_successful_run_in_each_format(target, fmt):
    log = log_dict()
    content, name = {
        "json": (as_json(log), "run.json"),
        "eval-zstd": (as_eval(log), "run.eval"),
        "eval-deflate": (as_eval(log, compression=stdlib_zipfile.ZIP_DEFLATED), "run.eval"),
    }[fmt]
    result = run(target, content, name)
    assert result.status == "imported", result.message
    evaluation = result.evaluation
    assert (evaluation.score, evaluation.score_note) == (0.75, "± 0.2 stderr")
    assert str(evaluation.started_on) == "2026-11-20" and evaluation.run_by == "Inspect 0.3.290"
    assert evaluation.imported_run.task_version == "3"
    assert evaluation.history.get().history_user == target["user"]


@pytest.mark.parametrize("status", ["error", "cancelled"])
def test_an_unfinished_run_is_recorded_as_such_never_as_a_success(target, status):
    result = run(target, as_json(log_dict(status=status)), f"{status}.json", rule=OutcomeRule("includes/accuracy", 0.1))
    evaluation = result.evaluation
    assert result.status == "imported"
    assert evaluation.imported_run.status == status
    assert (evaluation.outcome, evaluation.score) == ("inconclusive", None)
    if status == "error":
        assert "provider down" in evaluation.imported_run.error_message
        assert evaluation.imported_run.sample_errors == 1


def test_a_crashed_eval_without_header_reads_from_the_journal_as_started(target):
    result = run(target, as_eval(log_dict(), crashed=True), "crashed.eval")
    assert result.status == "imported", result.message
    assert result.evaluation.imported_run.status == "started"
    assert (result.evaluation.outcome, result.evaluation.score) == ("inconclusive", None)


def test_several_epochs_count_every_sample(target):
    result = run(target, as_json(log_dict(epochs=2, n=4)), "epochs.json")
    assert (result.evaluation.imported_run.total_samples, result.log.epochs) == (8, 2)


def test_without_a_headline_the_first_scorers_accuracy_is_the_score(target):
    result = run(target, as_json(log_dict(headline=False)), "old.json")
    assert result.evaluation.score_unit == "includes/accuracy" and result.evaluation.score == 0.75


def test_a_non_numeric_metric_is_kept_as_empty(target):
    log = log_dict()
    log["results"]["scores"][1]["metrics"]["accuracy"]["value"] = "n/a"
    result = run(target, as_json(log), "text-metric.json")
    assert result.status == "imported" and result.evaluation.score == 0.75
    rows = {row["name"]: row["value"] for row in result.evaluation.imported_run.metrics}
    assert rows["match/accuracy"] is None and rows["includes/accuracy"] == 0.75


def test_a_nan_stderr_is_kept_as_empty_with_a_note(target):
    result = run(target, as_json(log_dict(stderr=float("nan"))), "nan.json")
    evaluation = result.evaluation
    assert result.status == "imported"
    assert evaluation.score == 0.75 and evaluation.score_note == ""
    assert "includes/stderr is nan" in evaluation.source_note
    rows = {row["name"]: row["value"] for row in evaluation.imported_run.metrics}
    assert rows["includes/stderr"] is None and rows["includes/accuracy"] == 0.75


@pytest.mark.parametrize(
    ("rule", "outcome"), [("includes/accuracy>=0.5", "signal_met"), ("includes/accuracy>=0.9", "below_threshold")]
)
def test_an_outcome_rule_sets_the_outcome(target, rule, outcome):
    result = run(target, as_json(log_dict()), "r.json", rule=OutcomeRule.parse(rule))
    assert result.evaluation.outcome == outcome


def test_re_importing_the_same_eval_id_changes_nothing(target, media):
    first = run(target, as_json(log_dict()), "a.json")
    before = written(media)
    again = run(target, as_eval(log_dict()), "a-again.eval")
    assert again.status == "skipped" and f"evaluation {first.evaluation.pk}" in again.message
    assert written(media) == before


def zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with stdlib_zipfile.ZipFile(buffer, "w", compression=stdlib_zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("header.json", b" " * (settings.IMPORT_MAX_MEMBER_BYTES + 1024))
    return buffer.getvalue()


BAD = {
    "truncated.eval": (lambda: as_eval(log_dict())[:-200], "not a readable zip"),
    "corrupt.eval": (lambda: b"PK\x03\x04" + os.urandom(200), "not a readable zip"),
    "no-header.eval": (lambda: _zip({"readme.txt": "hi"}), "not an Inspect .eval log"),
    "invalid.json": (lambda: b'{"version": 2, "eval": {', "not valid JSON"),
    "not-a-log.json": (lambda: b'{"hello": "world"}', "not an Inspect log"),
    "list.json": (lambda: b"[1, 2]", "not an Inspect log"),
    "missing.json": (lambda: as_json({**log_dict(), "eval": {"task": "x"}}), "no eval.eval_id"),
    "future.json": (lambda: as_json(log_dict(version=3)), "format version 3 is not supported"),
    "bad-status.json": (lambda: as_json({**log_dict(), "status": "exploded"}), "Unknown log status"),
    "nan-score.json": (lambda: as_json(log_dict(accuracy=float("nan"))), "bare NaN or Infinity"),
    "latin1.json": (lambda: '{"version": 2, "eval": {"task": "é"}}'.encode("latin-1"), "not UTF-8"),
    "bomb.eval": (zip_bomb, "the limit is"),
    "empty.json": (lambda: b"", "is empty"),
    "log.txt": (lambda: b"{}", "neither a .json nor an .eval"),
}


def _zip(members):
    buffer = io.BytesIO()
    with stdlib_zipfile.ZipFile(buffer, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_file_is_refused_with_a_clear_message_and_writes_nothing(target, media, name):
    make_content, message = BAD[name]
    before = written(media)
    result = run(target, make_content(), name)
    assert result.status == "refused"
    assert message in result.message, result.message
    assert written(media) == before


def test_a_2_gb_file_is_refused_before_it_is_read(target, media, tmp_path, settings):
    huge = tmp_path / "huge.json"
    with huge.open("wb") as handle:
        handle.truncate(2 * 1024**3)  # sparse: 2 GB on paper, nothing on disk
    with pytest.raises(CommandError, match="refused 1"):
        call_command(
            "import_inspect",
            str(huge),
            "--snapshot",
            str(target["snapshot"].pk),
            "--category",
            "cyber",
            stdout=io.StringIO(),
            stderr=io.StringIO(),
        )
    assert written(media)[:3] == (0, 0, 0)


def test_the_command_imports_many_files_and_names_each_refused_one(target, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(as_json(log_dict(eval_id="good")))
    bad.write_bytes(b"{nope")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as error:
        call_command(
            "import_inspect",
            str(good),
            str(bad),
            str(good),
            "--snapshot",
            str(target["snapshot"].pk),
            "--category",
            "cyber",
            "--rule",
            "includes/accuracy>=0.5",
            stdout=out,
            stderr=err,
        )
    assert error.value.returncode == 1
    assert "Imported 1, updated 0, skipped 1, refused 1." in str(error.value)
    assert "[2/3]" in out.getvalue() and f"{bad}: The file is not valid JSON" in err.getvalue()
    assert Evaluation.objects.get().outcome == "signal_met"


def test_the_command_refuses_an_unknown_category_or_bad_rule(target, tmp_path):
    path = tmp_path / "a.json"
    path.write_bytes(as_json(log_dict()))
    with pytest.raises(CommandError, match="No threat category"):
        call_command("import_inspect", str(path), "--snapshot", str(target["snapshot"].pk), "--category", "nope")
    with pytest.raises(CommandError, match="not of the form"):
        call_command(
            "import_inspect",
            str(path),
            "--snapshot",
            str(target["snapshot"].pk),
            "--category",
            "cyber",
            "--rule",
            "accuracy > lots",
        )
    assert not Evaluation.objects.exists()


def test_the_upload_page_previews_then_records(client, evaluator, target):
    client.force_login(evaluator)
    upload = io.BytesIO(as_eval(log_dict(eval_id="page")))
    upload.name = "page.eval"
    response = client.post(
        reverse("importers:upload"),
        {"log": upload, "snapshot": target["snapshot"].pk, "category": target["category"].pk, "rule": ""},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "cyber_ctf" in html and "includes/accuracy" in html and not Evaluation.objects.exists()
    confirm = response.context["confirm"].initial
    response = client.post(reverse("importers:confirm"), {**confirm, "rule": ""})
    evaluation = Evaluation.objects.get()
    assert response.status_code == 302 and response["Location"] == evaluation.get_absolute_url()
    assert evaluation.recorded_by == evaluator and evaluation.evidence.get().original_name == "page.eval"
    # the staged copy is gone, and the token cannot be used twice
    assert client.post(reverse("importers:confirm"), {**confirm, "rule": ""}).status_code == 302
    assert Evaluation.objects.count() == 1


def test_the_preview_says_the_outcome_is_riskregs_reading_and_where_the_record_comes_from(client, evaluator, target):
    """Issue 28: the outcome is the import rule's classification, not the log's statement; the record's source is
    the log it is imported from."""
    import re

    client.force_login(evaluator)
    upload = io.BytesIO(as_eval(log_dict(eval_id="reading")))
    upload.name = "reading.eval"
    response = client.post(reverse("importers:upload"), {
        "log": upload, "snapshot": target["snapshot"].pk, "category": target["category"].pk,
        "rule": "includes/accuracy>=0.5",
    })  # fmt: skip
    html = response.content.decode()
    assert response.status_code == 200
    outcome = re.search(r"<dt>Outcome</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert "Alert / signal met" in outcome and '<span class="reading"' in outcome
    assert "riskreg&#x27;s reading" in outcome or "riskreg's reading" in outcome
    source = re.search(r"<dt>Source</dt><dd>(.*?)</dd>", html, re.S).group(1)
    assert "Imported from an evaluation log" in source


def test_the_upload_page_shows_a_refusal_beside_the_field(client, evaluator, target):
    client.force_login(evaluator)
    upload = io.BytesIO(b"{not json")
    upload.name = "x.json"
    response = client.post(
        reverse("importers:upload"),
        {"log": upload, "snapshot": target["snapshot"].pk, "category": target["category"].pk},
    )
    assert response.status_code == 400 and "not valid JSON" in response.content.decode()


def test_only_evaluators_import(client, viewer):
    client.force_login(viewer)
    assert client.get(reverse("importers:upload")).status_code == 403


# -- issue 19: a few random input/output samples for the model report ----------------------------------


@pytest.mark.parametrize("name", sorted(SHARED))
def test_a_run_keeps_three_samples_with_input_and_output_read_independently(target, name):
    path = SAMPLES / name
    with path.open("rb") as handle:
        handle.size = path.stat().st_size
        result = import_log(handle, name, **target)
    kept = result.evaluation.imported_run.samples
    assert len(kept) == 3
    # What the log itself says of those samples, read without riskreg's reader.
    if path.suffix == ".json":
        rows = {(str(s["id"]), s["epoch"]): s for s in json.loads(path.read_bytes())["samples"]}
    else:
        with zstd_zipfile.ZipFile(path) as archive:
            rows = {}
            for member in archive.namelist():
                if member.startswith("samples/"):
                    sample = json.loads(archive.read(member))
                    rows[(str(sample["id"]), sample["epoch"])] = sample
    for excerpt in kept:
        row = rows[(excerpt["id"], excerpt["epoch"])]
        assert excerpt["input"] == row["input"][:1000] and excerpt["output"] == row["output"]["completion"][:1000]
        target = row["target"]
        assert excerpt["target"] == ("\n".join(target) if isinstance(target, list) else target)


def test_the_kept_samples_are_random_but_the_same_for_the_same_log(target):
    content = as_json({**log_dict(n=300, sample_scores=("C",)),
                       "samples": [{"id": i, "epoch": 1, "input": f"question {i}", "target": "x",
                                    "output": {"completion": f"answer {i}"}, "scores": {"includes": {"value": "C"}}}
                                   for i in range(300)]})  # fmt: skip
    first = run(target, content, "a.json").evaluation.imported_run.samples
    ids = [int(s["id"]) for s in first]
    assert len(ids) == 3 and max(ids) >= 3  # not simply the first three
    assert all(s["output"] == f"answer {s['id']}" for s in first)
    again = run({**target, "snapshot": make.snapshot(known_as="provider/model-x")}, content, "b.json")
    assert again.evaluation.imported_run.samples == first


def test_a_long_sample_is_kept_as_a_bounded_excerpt(target):
    long = "x" * 50_000
    sample = {"id": 1, "epoch": 1, "input": [{"role": "user", "content": long}],
              "output": {"choices": [{"message": {"content": long}}]}}  # fmt: skip
    content = as_json({**log_dict(n=1), "samples": [sample]})
    [kept] = run(target, content, "long.json").evaluation.imported_run.samples
    assert len(kept["input"]) == len(kept["output"]) == 1000 and kept["input"].endswith("…")
