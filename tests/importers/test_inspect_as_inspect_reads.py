"""Issue 15: logs recorded exactly as Inspect reads them, from the command line, the browser and the API.

The samples in samples/issue15 were written by inspect-ai 0.3.285 (make_logs_tasks.py) and
expected-by-inspect.json is what `inspect_ai.log.read_eval_log` and its headline resolution report
for them (expected_by_inspect.py): the oracle riskreg's reader is compared with, field by field.
The suite itself never imports inspect-ai.
"""

import io
import json
import shutil
import struct
import time
import zipfile as stdlib_zipfile
from pathlib import Path

import pytest
from backports.zstd import zipfile as zstd_zipfile
from django.core.management import CommandError, call_command
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken
from riskreg.audit.models import AuditEvent
from riskreg.decisions.gate import gate
from riskreg.evaluations.models import Evaluation, Evidence, ImportedRun
from riskreg.importers.inspect import read_log
from riskreg.importers.service import OutcomeRule, import_log

pytestmark = pytest.mark.django_db
HERE = Path(__file__).resolve().parent / "samples" / "issue15"
EXPECTED = json.loads((HERE / "expected-by-inspect.json").read_text())
DICT = "2026-11-22T21-31-56-00-00_dict-headline_daKdGHKBXcncnYDzTVZpGV.eval"
REDUCERS = "2026-11-22T21-31-59-00-00_reducers_9GEBHq3NmPPBDCPruN2zh8.eval"
GROUPS = "2026-11-22T21-32-03-00-00_groups_T7zcVaVWJ3stGU5HXsapbj.json"
MIDRUN = "midrun-copy_reducers.eval"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def target():
    snapshot = make.snapshot(known_as="mockllm/model")
    return {"snapshot": snapshot, "category": make.category("cyber"), "user": make.user("importer")}


def run(target, name, rule=None, **options):
    path = HERE / name
    with path.open("rb") as handle:
        handle.size = path.stat().st_size
        return import_log(handle, Path(name).name, rule=rule, **{**target, **options})


def counts():
    return (Evaluation.objects.count(), ImportedRun.objects.count(), Evidence.objects.count(),
            AuditEvent.objects.count())  # fmt: skip


# -- 1-3: the headline, every metric, as Inspect reads them ------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_sample_reads_as_inspect_reads_it(name):
    expected = EXPECTED[name]
    with (HERE / name).open("rb") as handle:
        log = read_log(handle, name)
    assert (log.status, log.eval_id, log.task, log.task_id, log.eval_set_id or None, log.model) == (
        expected["status"], expected["eval_id"], expected["task"], expected["task_id"], expected["eval_set_id"],
        expected["model"],
    )  # fmt: skip
    assert (log.tags, log.epochs, log.epochs_reducer or None) == (
        expected["tags"], expected["epochs"], expected["epochs_reducer"])  # fmt: skip
    assert (log.dataset, log.dataset_samples) == (expected["dataset"], expected["dataset_samples"])
    assert (log.total_samples, log.completed_samples) == (expected["total_samples"], expected["completed_samples"])
    assert {model: usage["total_tokens"] for model, usage in log.model_usage.items()} == expected["model_usage"]
    theirs = [(m["scorer"], m["score"], m["reducer"], m["metric"], m["group"], m["value"]) for m in expected["metrics"]]
    ours = [(m.scorer, m.score, m.reducer, m.metric, m.group, m.value) for m in log.metrics]
    assert ours == theirs
    headline = expected["headline"]
    if headline is None:
        assert log.headline is None
    else:
        h = log.headline
        assert (h.scorer, h.score, h.reducer, h.metric, h.value, log.headline_stderr) == (
            headline["scorer"], headline["score"], headline["reducer"], headline["metric"], headline["value"],
            headline["stderr"],
        )  # fmt: skip


def test_a_declared_headline_on_a_dict_scorer_is_the_recorded_score(target):
    result = run(target, DICT)
    evaluation = result.evaluation
    assert result.status == "imported", result.message
    assert (evaluation.score, evaluation.score_unit) == (7.0, "quality.length/mean")
    assert evaluation.imported_run.headline == "quality.length/mean"
    assert "Headline quality.length/mean = 7" in evaluation.finding


def test_the_headline_reducer_is_the_one_inspect_reports(target):
    evaluation = run(target, REDUCERS).evaluation
    assert evaluation.score == pytest.approx(0.9166666, abs=1e-6)
    assert evaluation.score_unit == "match/accuracy[pass_at_2]"
    assert evaluation.score_note == "± 0.08333 stderr"
    rows = {row["name"]: row for row in evaluation.imported_run.metric_rows()}
    assert {name for name in rows if name.startswith("match/accuracy")} == {
        "match/accuracy[mean]", "match/accuracy[max]", "match/accuracy[pass_at_2]"}  # fmt: skip
    assert rows["match/accuracy[pass_at_2]"]["headline"] and not rows["match/accuracy[mean]"]["headline"]
    assert evaluation.imported_run.epochs_reducer == ["mean", "max", "pass_at_2"]


def test_metric_groups_and_tags_are_kept(target):
    run_record = run(target, GROUPS).evaluation.imported_run
    groups = {row["name"]: row["group"] for row in run_record.metric_rows()}
    assert groups["topical/geo"] == "grouped" and groups["topical/stderr"] is None
    assert run_record.tags == ["cyber", "nightly"]


def test_the_rule_reads_the_fully_named_metric(target):
    evaluation = run(target, REDUCERS, rule=OutcomeRule.parse("match/accuracy[pass_at_2]>=0.9")).evaluation
    assert evaluation.outcome == "signal_met"
    assert evaluation.imported_run.rule == "match/accuracy[pass_at_2]>=0.9"


def test_a_bare_metric_name_is_taken_only_where_one_metric_has_it(target):
    # Only match reports accuracy in the dict-scorer log: the rule is recorded by its full name.
    evaluation = run(target, DICT, rule=OutcomeRule.parse("accuracy>=0.5")).evaluation
    assert (evaluation.outcome, evaluation.imported_run.rule) == ("signal_met", "match/accuracy>=0.5")


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("accuracy>=0.5", "ambiguous in this log; name one of: match/accuracy[mean], match/accuracy[max]"),
        ("quality/length>=1", "does not report. Its metrics are: match/accuracy[mean], "),
    ],
)
def test_a_rule_naming_no_single_metric_is_refused_with_the_names(target, rule, says):
    before = counts()
    result = run(target, REDUCERS, rule=OutcomeRule.parse(rule))
    assert result.status == "refused" and says in result.message
    assert counts() == before


# -- 4: an unfinished run brought up to date ---------------------------------------------------------


def test_a_run_imported_mid_run_is_updated_by_the_finished_log(target):
    first = run(target, MIDRUN, rule=OutcomeRule.parse("match/accuracy[pass_at_2]>=0.5"))
    evaluation = first.evaluation
    assert first.status == "imported" and evaluation.imported_run.status == "started"
    assert (evaluation.outcome, evaluation.score) == ("inconclusive", None)
    events = AuditEvent.objects.count()

    second = run(target, REDUCERS)  # no rule given: the rule the run was recorded with stays
    assert second.status == "updated", second.message
    evaluation.refresh_from_db()
    assert evaluation.imported_run.status == "success"
    assert (evaluation.outcome, round(evaluation.score, 4)) == ("signal_met", 0.9167)
    assert evaluation.imported_run.completed_samples == 12
    latest = evaluation.history.latest()
    assert latest.history_change_reason.startswith("Re-import of Inspect run") and "started → success" in (
        latest.history_change_reason)  # fmt: skip
    pieces = list(evaluation.evidence.order_by("id"))
    assert len(pieces) == 2 and pieces[1].replaces == pieces[0]
    assert "follows the started log" in pieces[1].title
    assert evaluation.imported_run.log_evidence == pieces[1]
    assert AuditEvent.objects.count() > events

    before = counts()
    assert run(target, MIDRUN).status == "skipped"  # a finished run is never overwritten by an earlier state
    assert "never overwritten" in run(target, MIDRUN).message
    assert run(target, REDUCERS).status == "skipped"  # the identical file: a no-op
    assert counts() == before


def test_an_update_under_a_signed_decision_is_a_material_change(target):
    evaluation = run(target, MIDRUN).evaluation
    decision = make.decision(snap=target["snapshot"])
    determination = make.determination(decision, cat=target["category"])
    determination.cited_evaluations.add(evaluation)
    make.approve(decision)
    assert gate(decision).material_change is None

    result = run(target, REDUCERS)
    assert result.status == "updated", result.message
    change = gate(decision).material_change
    assert change is not None and change.changes, "the decision must show the update as a change since signing"


# -- 5: eval sets ------------------------------------------------------------------------------------


def call(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("import_inspect", *map(str, args), stdout=out, stderr=err)
    return out.getvalue()


def test_an_eval_set_folder_is_imported_by_its_listing(target):
    out = call(HERE / "eval-set", "--snapshot", target["snapshot"].pk, "--category", "cyber")
    assert "Eval set 75im4wd27GDtmtk2beYk7H: 2 log(s)" in out and "Imported 2, updated 0" in out
    runs = ImportedRun.objects.order_by("task")
    assert [r.eval_set_id for r in runs] == ["75im4wd27GDtmtk2beYk7H"] * 2
    assert {r.task for r in runs} == {"dict_headline", "groups"}
    # logs.json given by name is the same folder: nothing new.
    again = call(HERE / "eval-set" / "logs.json", "--snapshot", target["snapshot"].pk, "--category", "cyber")
    assert "Imported 0, updated 0, skipped 2" in again


def test_a_member_listed_but_missing_is_refused_by_name(target, tmp_path):
    folder = tmp_path / "set"
    shutil.copytree(HERE / "eval-set", folder)
    missing = next(folder.glob("*groups*.eval"))
    missing.unlink()
    with pytest.raises(CommandError) as error:
        call(folder, "--snapshot", target["snapshot"].pk, "--category", "cyber")
    assert error.value.returncode == 1 and "refused 1" in str(error.value)
    assert ImportedRun.objects.count() == 1


def test_the_snapshot_is_given_by_name_and_an_ambiguous_name_is_refused(target):
    named = make.snapshot(known_as="mockllm/model")
    named.name = "mythos-final-test"
    named.save()
    make.snapshot()  # a second snapshot called final
    out = call(HERE / DICT, "--snapshot", "Mythos-Final-Test", "--category", "cyber")
    assert "Imported 1" in out and Evaluation.objects.get().snapshot == named
    with pytest.raises(CommandError) as error:
        call(HERE / GROUPS, "--snapshot", "final", "--category", "cyber")  # two snapshots are called final
    assert "Several snapshots are called 'final'; give one's id" in str(error.value)
    with pytest.raises(CommandError) as error:
        call(HERE / GROUPS, "--snapshot", "nope", "--category", "cyber")
    assert "No snapshot with id or name 'nope'" in str(error.value)


# -- 6: bounded in memory and time -------------------------------------------------------------------


def _eval_zip(members: dict, compression=stdlib_zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _import_bytes(target, content: bytes, name: str):
    file = io.BytesIO(content)
    file.size = len(content)
    return import_log(file, name, **target)


def _header(eval_id="hostile") -> bytes:
    with (HERE / GROUPS).open("rb") as handle:
        log = json.load(handle)
    log.pop("samples", None)
    log["eval"]["eval_id"] = eval_id
    return json.dumps(log).encode()


def test_summaries_of_empty_objects_are_counted_not_held_and_refused(target, settings):
    settings.IMPORT_MAX_SAMPLES = 10_000
    spam = b"[" + b"{}," * 2_000_000 + b"{}]"  # 6 MB that would be two million dicts
    content = _eval_zip({"header.json": _header(), "summaries.json": spam, "_journal/summaries/1.json": spam})
    assert len(content) < 100_000
    started = time.process_time()
    result = _import_bytes(target, content, "hostile.eval")
    assert result.status == "refused" and "more than 10,000 samples" in result.message
    assert time.process_time() - started < 5  # refused at the limit, not after reading every summary
    assert counts()[:3] == (0, 0, 0)


def test_the_unpacked_total_per_log_is_bounded(target, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 1_000_000
    part = b"[" + b'{"id": 1, "epoch": 1},' * 30_000 + b'{"id": 2, "epoch": 1}]'  # 0.7 MB each
    start = {"version": 2, "eval": {"eval_id": "x", "task": "t", "model": "mockllm/model"}}  # the snapshot's model
    content = _eval_zip({"_journal/start.json": json.dumps(start),
                         "_journal/summaries/1.json": part, "_journal/summaries/2.json": part})  # fmt: skip
    result = _import_bytes(target, content, "journals.eval")
    assert result.status == "refused" and "IMPORT_MAX_UNPACKED_BYTES" in result.message


def test_an_archive_of_too_many_members_is_refused_before_its_directory_is_read(target, settings):
    settings.IMPORT_MAX_MEMBERS = 50
    content = _eval_zip({"header.json": _header(), **{f"samples/{i}_epoch_1.json": b"{}" for i in range(60)}})
    result = _import_bytes(target, content, "many.eval")
    assert result.status == "refused" and "has more than 50 parts" in result.message
    assert "IMPORT_MAX_MEMBERS" in result.message


def test_a_json_log_streams_its_samples_within_the_budget(target, settings):
    settings.IMPORT_MAX_SAMPLE_BYTES = 10_000
    log = json.loads((HERE / GROUPS).read_text())
    log["samples"][1]["metadata"] = {"blob": "x" * 20_000}
    result = _import_bytes(target, json.dumps(log).encode(), "big-sample.json")
    assert result.status == "refused" and "A sample in The file is larger than 10 KB of JSON" in result.message
    assert "inspect log convert --to eval" in result.message
    settings.IMPORT_MAX_SAMPLE_BYTES = 2 * 1024 * 1024
    assert _import_bytes(target, json.dumps(log).encode(), "big-sample.json").status == "imported"


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"[" + b"{}," * 100_000 + b"{}]", "not an Inspect log (expected an object)"),
        (b'{"version": 2, "eval": ' + b"[" * 100_000, "nested too deeply"),
        (b'{"version": 2, "samples": [' + b'{"x": 1},' * 10 + b"oops", "not valid JSON"),
        (b'{"version": 2, "eval": {"eval_id": "a", "task": "t", "model": "mockllm/model"}} trailing',
         "text after the end"),  # (of the snapshot's model: one of another is refused at its eval section)
    ],
)
def test_a_hostile_json_log_is_refused_without_being_held(target, content, says):
    result = _import_bytes(target, content, "hostile.json")
    assert result.status == "refused" and says in result.message, result.message


# -- 7: the evaluator's checks -----------------------------------------------------------------------


def test_a_log_of_another_model_is_refused_unless_confirmed(target):
    target["snapshot"] = make.snapshot(known_as="anthropic/claude-mythos-preview")
    refused = run(target, DICT)
    assert refused.status == "refused"
    assert "model is mockllm/model" in refused.message and "anthropic/claude-mythos-preview" in refused.message
    assert counts()[:3] == (0, 0, 0)
    confirmed = run(target, DICT, allow_other_model=True)
    assert confirmed.status == "imported" and confirmed.evaluation.imported_run.other_model_confirmed


def test_title_and_source_mark_say_what_the_record_is(target):
    evaluation = run(target, DICT).evaluation
    assert evaluation.title == "dict_headline · mockllm/model · 22 Nov 2026"
    assert evaluation.source_mark == "imported"
    assert evaluation.get_source_mark_display().startswith("Imported log")


def test_the_evaluation_page_shows_the_run_and_every_metric(client, evaluator, target):
    evaluation = run(target, REDUCERS).evaluation
    client.force_login(evaluator)
    page = client.get(evaluation.get_absolute_url()).content.decode()
    for text in ("match/accuracy[pass_at_2]</code> <strong>(headline)", "match/accuracy[mean]", "mean, max, pass_at_2",
                 "9GEBHq3NmPPBDCPruN2zh8", "tiny_epochs", "134 total"):  # fmt: skip
        assert text in page, text


def test_the_list_finds_runs_by_eval_set_task_and_tag(client, evaluator, target):
    call(HERE / "eval-set", "--snapshot", target["snapshot"].pk, "--category", "cyber")
    run(target, REDUCERS)
    client.force_login(evaluator)
    url = reverse("evaluations:list")
    for value, count in (("75im4wd27GDtmtk2beYk7H", 2), ("reducers", 1), ("nightly", 2), ("no-such-tag", 0)):
        response = client.get(url, {"run": value})
        assert response.status_code == 200
        assert response.content.decode().count("mockllm/model ·") == count, value


# -- the browser: several files, one preview -----------------------------------------------------------


def _upload(path: Path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(path.name, path.read_bytes())


def test_an_eval_set_is_uploaded_at_once_with_one_preview(client, evaluator, target):
    client.force_login(evaluator)
    folder = HERE / "eval-set"
    files = [_upload(path) for path in sorted(folder.iterdir())]
    preview = client.post(reverse("importers:upload"), {
        "log": files, "snapshot": target["snapshot"].pk, "category": target["category"].pk})  # fmt: skip
    page = preview.content.decode()
    assert preview.status_code == 200, page[:2000]
    assert "Confirm and record 2 files" in page and "quality.length/mean</code> (headline)" in page
    token = preview.context["confirm"].initial["token"]
    done = client.post(reverse("importers:confirm"), {
        "token": token, "snapshot": target["snapshot"].pk, "category": target["category"].pk, "rule": ""})  # fmt: skip
    assert done.status_code == 302 and ImportedRun.objects.count() == 2


def test_the_browser_asks_to_confirm_another_model(client, evaluator, target):
    target["snapshot"] = make.snapshot(known_as="anthropic/claude-mythos-preview")
    client.force_login(evaluator)
    preview = client.post(reverse("importers:upload"), {
        "log": [_upload(HERE / DICT)], "snapshot": target["snapshot"].pk, "category": target["category"].pk})
    assert "is not among the identifiers" in preview.content.decode()
    form = {"token": preview.context["confirm"].initial["token"], "snapshot": target["snapshot"].pk,
            "category": target["category"].pk, "rule": ""}  # fmt: skip
    refused = client.post(reverse("importers:confirm"), form, follow=True)
    assert "was refused" in refused.content.decode() and ImportedRun.objects.count() == 0
    preview = client.post(reverse("importers:upload"), {
        "log": [_upload(HERE / DICT)], "snapshot": target["snapshot"].pk, "category": target["category"].pk})
    form["token"] = preview.context["confirm"].initial["token"]
    client.post(reverse("importers:confirm"), {**form, "allow_other_model": "on"})
    assert ImportedRun.objects.get().other_model_confirmed


def test_the_import_page_shows_what_the_command_line_needs(client, evaluator, target):
    client.force_login(evaluator)
    page = client.get(reverse("importers:upload")).content.decode()
    assert f"<td><code>{target['snapshot'].pk}</code></td>" in page and "<td><code>cyber</code></td>" in page


# -- the API -------------------------------------------------------------------------------------------


def _api(client, user, files, **fields):
    _, raw = ApiToken.issue(user, "pipeline")
    data = {"log": files, **fields}
    return client.post(reverse("importers:api-imports"), data, headers={"authorization": f"Bearer {raw}"})


def test_the_api_imports_and_answers_per_file(client, evaluator, target):
    response = _api(client, evaluator, [_upload(HERE / DICT), _upload(HERE / GROUPS)],
                    snapshot=str(target["snapshot"].pk), category="cyber")  # fmt: skip
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["imported", "imported"]
    first = Evaluation.objects.get(pk=results[0]["evaluation"])
    assert results[0]["url"].endswith(first.get_absolute_url()) and first.recorded_by == evaluator
    again = _api(client, evaluator, [_upload(HERE / DICT)], snapshot=str(target["snapshot"].pk), category="cyber")
    assert again.status_code == 200 and again.json()["results"][0]["status"] == "skipped"


def test_the_api_refuses_a_bad_file_by_name_and_writes_nothing_for_it(client, evaluator, target):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("bad.eval", b"PK\x03\x04 not a zip")
    response = _api(client, evaluator, [bad, _upload(HERE / DICT)], snapshot=str(target["snapshot"].pk),
                    category="cyber")  # fmt: skip
    assert response.status_code == 422
    results = {r["file"]: r for r in response.json()["results"]}
    assert results["bad.eval"]["status"] == "refused" and "not a readable zip" in results["bad.eval"]["message"]
    assert results[DICT]["status"] == "imported" and ImportedRun.objects.count() == 1


def test_the_api_needs_an_evaluators_token(client, viewer, evaluator, target):
    url = reverse("importers:api-imports")
    assert client.post(url, {"snapshot": "1"}).status_code == 401
    client.force_login(evaluator)  # a session is not enough
    assert client.post(url, {"snapshot": "1"}).status_code == 401
    response = _api(client, viewer, [_upload(HERE / DICT)], snapshot=str(target["snapshot"].pk), category="cyber")
    assert response.status_code == 403 and counts()[:3] == (0, 0, 0)
    _, raw = ApiToken.issue(evaluator, "x")
    assert client.get(url, headers={"authorization": f"Bearer {raw}"}).status_code == 405


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"snapshot": "999999", "category": "cyber"}, "No snapshot with id or name '999999'"),
        ({"snapshot": "", "category": "cyber"}, "Give the snapshot"),
        ({"category": "nope"}, "No threat category 'nope'"),
        ({"category": "cyber", "rule": "accuracy>0.5"}, "is not of the form"),
        ({"category": "cyber", "allow_other_model": "maybe"}, "allow_other_model must be true or false"),
        ({"category": "cyber", "colour": "red"}, "Unknown fields: colour"),
    ],
)
def test_the_api_refuses_bad_parameters_and_writes_nothing(client, evaluator, target, fields, says):
    fields = {"snapshot": str(target["snapshot"].pk), **fields}
    response = _api(client, evaluator, [_upload(HERE / DICT)], **fields)
    assert response.status_code == 400 and says in response.json()["error"], response.content
    assert counts()[:3] == (0, 0, 0)


def test_the_api_without_files_or_as_json_is_a_clear_400(client, evaluator, target):
    _, raw = ApiToken.issue(evaluator, "x")
    headers = {"authorization": f"Bearer {raw}"}
    url = reverse("importers:api-imports")
    no_files = client.post(url, {"snapshot": str(target["snapshot"].pk), "category": "cyber"}, headers=headers)
    assert no_files.status_code == 400 and "at least one log file" in no_files.json()["error"]
    as_json = client.post(url, "{}", content_type="application/json", headers=headers)
    assert as_json.status_code == 400 and "multipart/form-data" in as_json.json()["error"]


def test_the_openapi_document_describes_both_endpoints(client):
    response = client.get(reverse("api-openapi"))
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/api/decisions/{id}/gate/", "/api/imports/"}
    assert document["paths"]["/api/imports/"]["post"]["requestBody"]["content"]["multipart/form-data"]


def test_an_api_upload_over_the_limit_is_a_json_413(client, evaluator, target, settings):
    settings.IMPORT_MAX_BYTES = 1000
    files = [_upload(HERE / name) for name in (DICT, REDUCERS, GROUPS)]  # 85 KB: past the limit and its margin
    response = _api(client, evaluator, files, snapshot=str(target["snapshot"].pk), category="cyber")
    assert response.status_code == 413 and "IMPORT_MAX_BYTES" in response.json()["error"]
    assert counts()[:3] == (0, 0, 0)


def test_a_listing_naming_a_file_outside_the_folder_is_refused(target, tmp_path):
    folder = tmp_path / "set"
    shutil.copytree(HERE / "eval-set", folder)
    outside = tmp_path / "outside.eval"
    shutil.copy(HERE / DICT, outside)
    listing = json.loads((folder / "logs.json").read_text())
    listing["../outside.eval"] = {}
    listing[str(outside)] = {}
    (folder / "logs.json").write_text(json.dumps(listing))
    with pytest.raises(CommandError) as error:
        call(folder, "--snapshot", target["snapshot"].pk, "--category", "cyber")
    assert "refused 2" in str(error.value)
    assert sorted(r.task for r in ImportedRun.objects.all()) == ["dict_headline", "groups"]
    assert not ImportedRun.objects.filter(file_name="outside.eval").exists()


# -- found by trying it as an attacker would (second pass) ---------------------------------------------


def _json_log(**changes) -> dict:
    log = json.loads((HERE / GROUPS).read_text())
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = log
        for parent in parents:
            node = node[parent]
        node[key] = value
    return log


def _started(log: dict) -> dict:
    started = {k: v for k, v in log.items() if k not in ("results", "reductions")}
    started["status"] = "started"
    started["stats"] = {"started_at": "", "completed_at": ""}
    return started


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"eval__model": "evil/unvetted-model"}, "model 'evil/unvetted-model'"),
        ({"eval__task": "another_task"}, "task 'another_task'"),
        ({"eval__run_id": "other-run"}, "run id 'other-run'"),
    ],
)
def test_a_later_state_must_be_the_same_run(target, change, says):
    first = _import_bytes(target, json.dumps(_started(_json_log())).encode(), "started.json")
    assert first.status == "imported", first.message
    before = counts()
    later = _import_bytes(target, json.dumps(_json_log(**change)).encode(), "finished.json")
    assert later.status == "refused" and "is not the same run" in later.message and says in later.message
    assert counts() == before
    assert first.evaluation.imported_run.__class__.objects.get().status == "started"


def test_a_later_state_is_imported_for_the_snapshot_and_category_of_the_record(target):
    assert _import_bytes(target, json.dumps(_started(_json_log())).encode(), "started.json").status == "imported"
    elsewhere = {**target, "snapshot": make.snapshot(known_as="mockllm/model")}
    file = io.BytesIO(json.dumps(_json_log()).encode())
    file.size = len(file.getvalue())
    result = import_log(file, "finished.json", **elsewhere)
    assert result.status == "refused" and "for the same snapshot and category" in result.message


def test_the_rule_is_kept_as_written_through_preview_and_confirm(client, evaluator, target):
    client.force_login(evaluator)
    form = {"log": [_upload(HERE / GROUPS)], "snapshot": target["snapshot"].pk, "category": target["category"].pk,
            "rule": "topical/all>=0.7500001"}  # fmt: skip
    preview = client.post(reverse("importers:upload"), form)
    assert "Below threshold" in preview.content.decode()
    confirm = preview.context["confirm"].initial
    assert confirm["rule"] == "topical/all>=0.7500001"
    client.post(reverse("importers:confirm"), {**confirm, "snapshot": target["snapshot"].pk,
                                              "category": target["category"].pk})  # fmt: skip
    evaluation = Evaluation.objects.get()
    assert (evaluation.outcome, evaluation.imported_run.rule) == ("below_threshold", "topical/all>=0.7500001")


def test_a_rule_in_exponent_form_survives_an_update(target):
    rule = OutcomeRule.parse("topical/all>=1e6")
    started = _import_bytes({**target}, json.dumps(_started(_json_log())).encode(), "started.json")
    file = io.BytesIO(json.dumps(_started(_json_log())).encode())
    assert started.status == "imported"
    started.evaluation.imported_run.rule = rule.text()
    started.evaluation.imported_run.save()
    del file
    finished = _import_bytes(target, json.dumps(_json_log()).encode(), "finished.json")
    assert finished.status == "updated", finished.message
    assert finished.evaluation.outcome == "below_threshold"
    assert finished.evaluation.imported_run.rule == "topical/all>=1e6"


def test_an_identical_file_is_skipped_whatever_the_rule(target):
    assert run(target, GROUPS).status == "imported"
    again = run(target, GROUPS, rule=OutcomeRule.parse("nope/metric>=1"))
    assert again.status == "skipped"


def _lying_directory(entries: int) -> bytes:
    """A zip whose central directory repeats one entry `entries` times while its end record says 1."""
    one = _eval_zip({"header.json": _header("lying")})
    at = one.rfind(b"PK\x05\x06")
    size, offset = struct.unpack("<II", one[at + 12 : at + 20])
    entry = one[offset : offset + size]
    end = bytearray(one[at:])
    end[8:12] = struct.pack("<HH", 1, 1)
    end[12:16] = struct.pack("<I", size * entries)
    return one[:offset] + entry * entries + bytes(end)


def test_a_directory_longer_than_its_end_record_says_is_counted_and_refused(target, settings):
    settings.IMPORT_MAX_MEMBERS = 50
    result = _import_bytes(target, _lying_directory(200), "lying.eval")
    assert result.status == "refused" and "IMPORT_MAX_MEMBERS" in result.message
    assert counts()[:3] == (0, 0, 0)


def test_a_log_of_too_many_metrics_is_refused(target, settings):
    settings.IMPORT_MAX_METRICS = 10
    log = _json_log()
    log["results"]["scores"][0]["metrics"] = {f"m{i}": {"name": f"m{i}", "value": 1.0} for i in range(20)}
    result = _import_bytes(target, json.dumps(log).encode(), "metrics.json")
    assert result.status == "refused" and "more than 10 metrics" in result.message


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (lambda: b'{"version": 2, "eval": {"eval_id": "a", "task": "t", "metadata": {"n": ' + b"9" * 5000 + b"}}}",
         "holds a value riskreg cannot read"),
        (lambda: json.dumps(_json_log(eval__eval_id={"a": 1})).encode(), "eval.eval_id is a dict"),
        (lambda: json.dumps(_json_log(eval__task_version={"a": 1})).encode(), "eval.task_version is a dict"),
        (lambda: json.dumps(_json_log(eval__config={"epochs": True})).encode(), "not a positive whole number"),
        (lambda: json.dumps(_json_log(eval__config={"epochs": 2.7})).encode(), "not a positive whole number"),
    ],
)
def test_values_inspect_would_not_write_are_refused_not_stringified(target, content, says):
    result = _import_bytes(target, content(), "odd.json")
    assert result.status == "refused" and says in result.message, result.message


def test_a_date_at_the_edge_of_the_calendar_is_left_empty_with_a_note(target):
    result = _import_bytes(target, json.dumps(_json_log(eval__created="0001-01-01T00:00:00+14:00")).encode(),
                           "year1.json")  # fmt: skip
    assert result.status == "imported", result.message
    assert result.evaluation.imported_run.created is None
    assert "eval.created" in result.evaluation.source_note


def test_reductions_count_against_the_sample_limit(target, settings):
    settings.IMPORT_MAX_SAMPLES = 100
    log = _json_log()
    log["reductions"] = [0] * 1000
    result = _import_bytes(target, json.dumps(log).encode(), "reductions.json")
    assert result.status == "refused" and "more than 100 reductions" in result.message


def test_a_malformed_eval_set_record_is_a_clear_refusal(client, evaluator, target, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    bad = SimpleUploadedFile("eval-set.json", b'{"eval_set_id": "x", "tasks": 5}')
    response = _api(client, evaluator, [bad, _upload(HERE / GROUPS)], snapshot=str(target["snapshot"].pk),
                    category="cyber")  # fmt: skip
    assert response.status_code == 400 and "not an Inspect eval-set record" in response.json()["error"]
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "eval-set.json").write_bytes(b'{"eval_set_id": "x", "tasks": 5}')
    with pytest.raises(CommandError) as error:
        call(folder, "--snapshot", target["snapshot"].pk, "--category", "cyber")
    assert error.value.returncode == 1


def test_names_are_kept_as_inspect_wrote_them_and_match_the_listing(client, evaluator, target):
    from django.core.files.uploadedfile import SimpleUploadedFile

    name = "2026-07-01T10-00-00+01-00_groups_abc.json"
    listing = SimpleUploadedFile("logs.json", json.dumps({name: {}}).encode())
    response = _api(client, evaluator, [SimpleUploadedFile(name, (HERE / GROUPS).read_bytes()), listing],
                    snapshot=str(target["snapshot"].pk), category="cyber")  # fmt: skip
    assert response.status_code == 200, response.content
    assert [r["file"] for r in response.json()["results"]] == [name]
    assert ImportedRun.objects.get().file_name == name


@pytest.mark.parametrize("name", ["@@@", "...", "a/../../b.json", "nul\x01.json"])
def test_odd_upload_names_get_an_answer_not_an_error_page(client, evaluator, target, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _api(client, evaluator, [SimpleUploadedFile(name, (HERE / GROUPS).read_bytes())],
                    snapshot=str(target["snapshot"].pk), category="cyber")  # fmt: skip
    assert response["Content-Type"] == "application/json" and response.status_code in (200, 422)


def test_the_tag_search_matches_whole_tags(client, evaluator, target):
    run(target, GROUPS)
    client.force_login(evaluator)
    url = reverse("evaluations:list")
    assert client.get(url, {"run": "cyber"}).content.decode().count("mockllm/model ·") == 1
    for value in ("[", "cyb", '"'):
        assert client.get(url, {"run": value}).content.decode().count("mockllm/model ·") == 0, value


def test_one_preview_waits_per_session(client, evaluator, target, media):
    client.force_login(evaluator)
    form = {"snapshot": target["snapshot"].pk, "category": target["category"].pk}
    first = client.post(reverse("importers:upload"), {**form, "log": [_upload(HERE / GROUPS)]})
    first_token = first.context["confirm"].initial["token"]
    second = client.post(reverse("importers:upload"), {**form, "log": [_upload(HERE / DICT)]})
    staging = Path(media) / "import-staging"
    assert [p.name for p in staging.iterdir()] == [second.context["confirm"].initial["token"]]
    stale = client.post(reverse("importers:confirm"), {**form, "token": first_token, "rule": ""}, follow=True)
    assert "no longer waiting" in stale.content.decode() and ImportedRun.objects.count() == 0
