"""Issue 27: bad archives and hostile logs are refused with a clear message and write nothing.

A corrupt compressed member is a refusal, not a 500; files written during a request that rolls back
are removed; the work of reading a log is bounded (JSON values counted as they stream), not only
its bytes; and imports are limited per user and in all, across processes.
"""

import io
import json
import random
import threading
import zipfile as stdlib_zipfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from backports.zstd import zipfile as zstd_zipfile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

import factories as make
from riskreg.accounts.models import ApiToken
from riskreg.audit.models import AuditEvent
from riskreg.evaluations.models import Evaluation, Evidence, ImportedRun

pytestmark = pytest.mark.django_db
SAMPLES = Path(__file__).resolve().parent / "samples"
GOOD = SAMPLES / "2026-11-22T06-21-37-00-00_tiny-qa_AUTim9gRa9z2wiyoWZfPBo.eval"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def target():
    snapshot = make.snapshot(known_as="mockllm/model")
    return {"snapshot": snapshot, "category": make.category("cyber"), "user": make.user("importer")}


def written(media) -> tuple:
    files = [p for p in Path(media).rglob("*") if p.is_file()] if Path(media).exists() else []
    counts = (Evaluation.objects.count(), ImportedRun.objects.count(), Evidence.objects.count())
    return (*counts, AuditEvent.objects.count(), len(files))


def token(user) -> str:
    return ApiToken.issue(user, "pipeline")[1]


def _api(client, raw, files, target):
    data = {"log": files, "snapshot": str(target["snapshot"].pk), "category": "cyber"}
    return client.post(reverse("importers:api-imports"), data, headers={"authorization": f"Bearer {raw}"})


def _command(*paths, target):
    call_command("import_inspect", *map(str, paths), "--snapshot", str(target["snapshot"].pk), "--category", "cyber",
                 "--user", target["user"].username, stdout=io.StringIO(), stderr=io.StringIO())  # fmt: skip


# -- a corrupt compressed member ---------------------------------------------------------------------


def corrupt(compression: int) -> bytes:
    """A real .eval whose header.json's compressed data is damaged in the middle (its zip directory intact)."""
    with zstd_zipfile.ZipFile(GOOD) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["header.json"] = json.dumps({**json.loads(members["header.json"]),
                                         "padding": [random.Random(5).random() for _ in range(3000)]}).encode()
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    content = bytearray(buffer.getvalue())
    info = zstd_zipfile.ZipFile(io.BytesIO(bytes(content))).getinfo("header.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    content[start + 4 : start + 12] = b"\xff" * 8  # past the Zstandard magic number: a damaged frame header
    return bytes(content)


@pytest.mark.parametrize("compression", [zstd_zipfile.ZIP_ZSTANDARD, stdlib_zipfile.ZIP_DEFLATED],
                         ids=["zstd", "deflate"])  # fmt: skip
def test_a_corrupt_member_is_a_clear_refusal_everywhere_and_writes_nothing(client, evaluator, target, media, tmp_path,
                                                                            compression):  # fmt: skip
    content, raw = corrupt(compression), token(evaluator)
    client.force_login(evaluator)
    before = written(media)
    # the API: answered per file, nothing written for it
    response = _api(client, raw, [SimpleUploadedFile("bad.eval", content)], target)
    assert response.status_code == 422, response.content[:500]
    answer = response.json()["results"][0]
    assert answer["status"] == "refused" and "cannot be unpacked" in answer["message"], answer
    assert written(media) == before
    # the browser's preview: the refusal beside the field
    page = client.post(reverse("importers:upload"), {
        "log": [SimpleUploadedFile("bad.eval", content)], "snapshot": target["snapshot"].pk,
        "category": target["category"].pk})  # fmt: skip
    assert page.status_code == 400 and "cannot be unpacked" in page.content.decode()
    assert written(media) == before
    # the command: named as refused, exit 1, no traceback
    path = tmp_path / "bad.eval"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="refused 1"):
        _command(path, target=target)
    assert written(media) == before


# -- files written in a request that rolls back ---------------------------------------------------------


def _failing_on(monkeypatch, name: str) -> None:
    """read_log raises an unexpected error (a bug, not a refusal) for the file called `name`."""
    from riskreg.importers import service

    real = service.read_log

    def read_log(file, called, **options):
        if called == name:
            raise RuntimeError("injected: a bug while reading the second file")
        return real(file, called, **options)

    monkeypatch.setattr(service, "read_log", read_log)


def _second() -> bytes:
    """The good log under another eval_id, so that it too would be written."""
    with zstd_zipfile.ZipFile(GOOD) as source:
        members = {name: source.read(name) for name in source.namelist()}
    for name in ("header.json", "_journal/start.json"):
        members[name] = members[name].replace(b"AUTim9gRa9z2wiyoWZfPBo", b"SecondRunOfTheSameTask")
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=zstd_zipfile.ZIP_ZSTANDARD) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_an_api_request_that_rolls_back_leaves_no_evidence_file(client, evaluator, target, media, monkeypatch):
    raw = token(evaluator)
    before = written(media)
    _failing_on(monkeypatch, "second.eval")
    files = [SimpleUploadedFile("first.eval", GOOD.read_bytes()), SimpleUploadedFile("second.eval", _second())]
    with pytest.raises(RuntimeError, match="injected"):  # the test client re-raises what would be a 500
        _api(client, raw, files, target)
    assert written(media) == before  # the first file's rows rolled back, and its file is gone from MEDIA_ROOT
    assert not any(Path(media).rglob("*.eval")) if Path(media).exists() else True


def test_a_confirmed_preview_that_rolls_back_leaves_no_evidence_file(client, evaluator, target, media, monkeypatch):
    client.force_login(evaluator)
    before = written(media)
    preview = client.post(reverse("importers:upload"), {
        "log": [SimpleUploadedFile("first.eval", GOOD.read_bytes()), SimpleUploadedFile("second.eval", _second())],
        "snapshot": target["snapshot"].pk, "category": target["category"].pk})  # fmt: skip
    assert preview.status_code == 200 and "Confirm and record 2 files" in preview.content.decode()
    _failing_on(monkeypatch, "second.eval")
    with pytest.raises(RuntimeError, match="injected"):
        client.post(reverse("importers:confirm"), {**preview.context["confirm"].initial, "rule": ""})
    assert written(media) == before  # no rows, no evidence file, and the staged copies removed


# -- the work of reading a log is bounded, not only its bytes ---------------------------------------------


def empties_eval(parts: int, samples: int, empties: int) -> bytes:
    """A started run (no header) whose journal summary parts each hold `samples` samples of `empties`
    empty objects: a few KB on disk, within every byte limit, but every `{}` is a value to parse."""
    with zstd_zipfile.ZipFile(GOOD) as source:
        start = source.read("_journal/start.json")
    row = b'{"id":1,"epoch":1,"metadata":[' + b"{}," * (empties - 1) + b"{}]}"
    part = b"[" + b",".join([row] * samples) + b"]"
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=zstd_zipfile.ZIP_ZSTANDARD, compresslevel=19) as archive:
        archive.writestr("_journal/start.json", start)
        for number in range(1, parts + 1):
            archive.writestr(f"_journal/summaries/{number}.json", part)
    return buffer.getvalue()


@pytest.fixture
def parsed(monkeypatch) -> list[int]:
    """The characters handed to the JSON parser (the work of reading), counted as they are parsed."""
    from riskreg.importers import inspect

    total = [0]
    real = inspect._DECODER

    class Counting:
        def raw_decode(self, text, at):
            try:
                value, end = real.raw_decode(text, at)
            except ValueError:
                total[0] += len(text) - at  # a value cut off by the end of the buffer is parsed to its end
                raise
            total[0] += end - at
            return value, end

    monkeypatch.setattr(inspect, "_DECODER", Counting())
    return total


def _import(content: bytes, name: str, target):
    from riskreg.importers.service import import_log

    file = io.BytesIO(content)
    file.size = len(content)
    return import_log(file, name, **target)


def test_the_issue_27_eval_is_refused_after_a_bounded_part_of_its_work(target, media, parsed):
    # 4 journal parts of 61 MB, each 33 samples of 620,000 {}: 22 KB on disk, within every byte limit
    content = empties_eval(parts=4, samples=33, empties=620_000)
    assert len(content) < 64 * 1024
    unpacked = 4 * (33 * (620_000 * 3 + 31) + 1)
    before = written(media)
    result = _import(content, "cpu.eval", target)
    assert result.refused and "IMPORT_MAX_PART_JSON_VALUES" in result.message, result.message
    assert "_journal/summaries/1.json holds more than 8,000,000 JSON values" in result.message
    assert written(media) == before
    # it put all 244 MB through the parser (about 110 s of CPU on a loaded server); now a part of the first
    assert parsed[0] < unpacked / 8, (parsed[0], unpacked)


def test_each_eval_part_is_bounded_in_json_values(target, media, settings, parsed):
    settings.IMPORT_MAX_PART_JSON_VALUES = 10_000
    content = empties_eval(parts=1, samples=4, empties=5_000)  # 4 x 5,000 {} in one part
    before = written(media)
    result = _import(content, "part.eval", target)
    assert result.refused and "holds more than 10,000 JSON values (IMPORT_MAX_PART_JSON_VALUES)" in result.message
    assert written(media) == before
    assert parsed[0] < 64 * 1024  # the values are counted before they are parsed


def test_the_values_of_all_parts_of_a_log_are_bounded(target, media, settings):
    settings.IMPORT_MAX_PART_JSON_VALUES = 10_000
    settings.IMPORT_MAX_JSON_VALUES = 30_000
    within = _import(empties_eval(parts=2, samples=2, empties=2_000), "two.eval", target)  # ~16,000 in all
    assert within.status == "imported", within.message
    before = written(media)
    content = empties_eval(parts=5, samples=2, empties=2_000)  # each part within its limit, 40,000 in all
    result = _import(content, "five.eval", target)
    assert result.refused and "The log holds more than 30,000 JSON values" in result.message, result.message
    assert "(IMPORT_MAX_JSON_VALUES)" in result.message and written(media) == before


def test_a_json_log_is_bounded_in_json_values(target, media, settings, parsed):
    settings.IMPORT_MAX_JSON_VALUES = 50_000
    with (SAMPLES / "2026-11-22T06-15-57-00-00_tiny-qa_BLAPArHexWNvtFDQvc4tiS.json").open("rb") as handle:
        log = json.load(handle)
    log["samples"] = [{"id": n, "epoch": 1, "metadata": [{}] * 30_000} for n in range(1, 4)]  # 90,000 {}
    content = json.dumps(log, separators=(",", ":")).encode()
    before = written(media)
    result = _import(content, "log.json", target)
    assert result.refused and "more than 50,000 JSON values" in result.message, result.message
    assert written(media) == before and parsed[0] < len(content) * 2 // 3


# -- the work of one request is bounded, not only the work of each of its logs ----------------------------


def run_eval(eval_id: str, parts: int = 2, samples: int = 2, empties: int = 2_000) -> bytes:
    """`empties_eval` under its own eval_id (each file of a request a run of its own): by default about
    16,000 JSON values, within each log's limits below."""
    content = empties_eval(parts, samples, empties)
    with zstd_zipfile.ZipFile(io.BytesIO(content)) as source:
        members = {name: source.read(name) for name in source.namelist()}
    start = json.loads(members["_journal/start.json"])
    start["eval"]["eval_id"] = eval_id
    members["_journal/start.json"] = json.dumps(start).encode()
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=zstd_zipfile.ZIP_ZSTANDARD) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def small_limits(settings):
    """Each log may hold 30,000 values, and so may all the files of one request."""
    settings.IMPORT_MAX_PART_JSON_VALUES = 10_000
    settings.IMPORT_MAX_JSON_VALUES = settings.IMPORT_MAX_REQUEST_JSON_VALUES = 30_000
    return settings


RUNS = [f"Run{n}OfTheSameTaskXXXXX" for n in range(1, 5)]
ONE_RUN_PARSED = 2 * 2 * (2_000 * 3 + 31)  # the characters one run's two journal parts put through the parser


def test_an_api_request_is_bounded_in_json_values_across_its_files(client, evaluator, target, media, small_limits,
                                                                   parsed):  # fmt: skip
    """The reviewer's request: files each within every limit of a log, many of them in one request; the
    work grew with the number of files (50 allowed). Now the request has one budget: the file during which
    it runs out is refused (nothing of it written), the files after it are not read."""
    files = [SimpleUploadedFile(f"{n}.eval", run_eval(run)) for n, run in enumerate(RUNS, start=1)]
    before = written(media)
    response = _api(client, token(evaluator), files, target)
    assert response.status_code == 422, response.content[:500]
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["imported", "refused", "refused", "refused"], results
    assert "more than 30,000 JSON values" in results[1]["message"]
    assert "(IMPORT_MAX_REQUEST_JSON_VALUES); refused while reading this file" in results[1]["message"]
    assert all(r["message"].startswith("Not read: ") and "IMPORT_MAX_REQUEST_JSON_VALUES" in r["message"]
               and r["evaluation"] is None for r in results[2:])  # fmt: skip
    assert written(media)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)  # the first file alone
    assert ImportedRun.objects.get().eval_id == RUNS[0]
    assert parsed[0] < 2 * ONE_RUN_PARSED  # the third and fourth files were never parsed (4 x before)
    # each file on its own is within every limit: the refusal was the request's, not the file's
    again = _api(client, token(evaluator), [SimpleUploadedFile("2.eval", run_eval(RUNS[1]))], target)
    assert again.status_code == 200, again.content[:500]


def test_a_browser_preview_and_its_confirmation_are_bounded_as_a_request_is(client, evaluator, target, media,
                                                                            small_limits, parsed):  # fmt: skip
    client.force_login(evaluator)
    form = {"snapshot": target["snapshot"].pk, "category": target["category"].pk}
    files = [SimpleUploadedFile(f"{n}.eval", run_eval(run)) for n, run in enumerate(RUNS, start=1)]
    preview = client.post(reverse("importers:upload"), {"log": files, **form})
    page = preview.content.decode()
    assert preview.status_code == 200 and "IMPORT_MAX_REQUEST_JSON_VALUES" in page and "Not read: " in page
    assert len(preview.context["staged"]) == 1 and parsed[0] < 2 * ONE_RUN_PARSED  # only the file read whole
    # a confirmation reads its files again, within a budget of its own
    small_limits.IMPORT_MAX_REQUEST_JSON_VALUES = 60_000
    files = [SimpleUploadedFile(f"{n}.eval", run_eval(run)) for n, run in enumerate(RUNS[:2], start=1)]
    preview = client.post(reverse("importers:upload"), {"log": files, **form})
    assert len(preview.context["staged"]) == 2, preview.content.decode()[:2000]
    small_limits.IMPORT_MAX_REQUEST_JSON_VALUES = 20_000
    before = written(media)
    done = client.post(reverse("importers:confirm"), {**preview.context["confirm"].initial, "rule": ""})
    assert done.status_code == 302
    shown = [str(m) for m in done.wsgi_request._messages]
    assert any("2.eval was refused" in m and "IMPORT_MAX_REQUEST_JSON_VALUES" in m for m in shown), shown
    assert written(media)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)


def test_a_run_of_the_command_is_bounded_as_a_request_is(target, media, small_limits, tmp_path, parsed):
    paths = []
    for number, run in enumerate(RUNS, start=1):
        paths.append(tmp_path / f"{number}.eval")
        paths[-1].write_bytes(run_eval(run))
    before = written(media)
    with pytest.raises(CommandError, match="Imported 1, updated 0, skipped 0, refused 3"):
        _command(*paths, target=target)
    assert written(media)[:3] == (before[0] + 1, before[1] + 1, before[2] + 1)
    assert parsed[0] < 2 * ONE_RUN_PARSED


def test_the_listing_of_an_eval_set_draws_on_the_request_budget(client, evaluator, target, small_limits):
    logs = json.dumps({"1.eval": {"metadata": [{}] * 10_000}}).encode()  # 20,000 values
    response = _api(client, token(evaluator), [SimpleUploadedFile("logs.json", logs),
                                               SimpleUploadedFile("1.eval", run_eval(RUNS[0]))], target)  # fmt: skip
    assert response.status_code == 422, response.content[:500]
    [result] = response.json()["results"]  # the log, within its own limits, is refused for the request's
    assert result["status"] == "refused" and "(IMPORT_MAX_REQUEST_JSON_VALUES)" in result["message"], result
    assert Evaluation.objects.count() == 0


# -- a log of another model is refused from its header, before its samples are read ------------------------


def test_a_log_of_another_model_is_refused_from_its_eval_header(target, media, parsed):
    target["snapshot"].model_identifiers = "anthropic/claude-mythos-preview"
    target["snapshot"].save()
    content = run_eval("OtherModelRunXXXXXXXXX", parts=4)  # 4 journal parts of 12,000 characters
    before = written(media)
    result = _import(content, "other.eval", target)
    assert result.refused and "The log's model is mockllm/model, but" in result.message, result.message
    assert written(media) == before
    assert parsed[0] < 4096  # _journal/start.json alone: no journal part was parsed
    # the same from header.json (a finished run): its summaries are not read
    with zstd_zipfile.ZipFile(GOOD) as source:
        members = {name: source.read(name) for name in source.namelist()}
    members["summaries.json"] = b"[" + b",".join([b'{"id":1,"epoch":1,"metadata":[' + b"{}," * 3_000 + b"{}]}"] * 4)
    members["summaries.json"] += b"]"
    buffer = io.BytesIO()
    with zstd_zipfile.ZipFile(buffer, "w", compression=zstd_zipfile.ZIP_ZSTANDARD) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    parsed[0] = 0
    result = _import(buffer.getvalue(), "finished.eval", target)
    assert result.refused and "The log's model is mockllm/model" in result.message, result.message
    assert parsed[0] < len(members["header.json"]) + 4096, parsed[0]
    # confirmed, it is read whole and recorded
    allowed = _import(content, "other.eval", {**target, "allow_other_model": True})
    assert allowed.status == "imported", allowed.message


def test_a_json_log_of_another_model_is_refused_before_its_samples(target, media, parsed):
    target["snapshot"].model_identifiers = "anthropic/claude-mythos-preview"
    target["snapshot"].save()
    with (SAMPLES / "2026-11-22T06-15-57-00-00_tiny-qa_BLAPArHexWNvtFDQvc4tiS.json").open("rb") as handle:
        log = json.load(handle)
    assert list(log)[:3] == ["version", "status", "eval"]  # Inspect's writer order: the samples come after
    log["samples"] = [{"id": n, "epoch": 1, "metadata": [{}] * 10_000} for n in range(1, 4)]
    content = json.dumps(log, separators=(",", ":")).encode()
    before = written(media)
    result = _import(content, "other.json", target)
    assert result.refused and "The log's model is mockllm/model, but" in result.message, result.message
    assert written(media) == before and parsed[0] < len(content) // 4, (parsed[0], len(content))


REAL = [path for folder in (SAMPLES, SAMPLES / "issue15", SAMPLES / "issue15" / "eval-set")
        for path in sorted(folder.iterdir()) if path.suffix in (".eval", ".json")
        and path.name not in ("expected-by-inspect.json", "logs.json", "eval-set.json")]  # fmt: skip


@pytest.mark.parametrize("path", REAL, ids=lambda path: path.name[-24:])
def test_every_real_log_is_well_within_the_value_limits(path):
    """A real log has at least 10 bytes a counted value (they run 14 to 50; a tiny part 9), and the value
    limits allow fewer bytes a value than that at the byte limits: a log of real density is refused for
    its bytes before its values."""
    from django.conf import settings

    def count(data: bytes) -> int:
        return data.count(b",") + data.count(b"{") + data.count(b"[")

    if path.suffix == ".json":
        parts = [path.read_bytes()]
    else:
        with zstd_zipfile.ZipFile(path) as archive:
            parts = [archive.read(name) for name in archive.namelist() if name.endswith(".json")]
    assert sum(map(count, parts)) * 10 <= sum(map(len, parts)), path
    assert all(count(data) * 8 <= len(data) for data in parts), path  # even a 210-byte reductions.json
    assert settings.IMPORT_MAX_PART_JSON_VALUES * 10 >= settings.IMPORT_MAX_MEMBER_BYTES
    assert settings.IMPORT_MAX_JSON_VALUES * 10 >= settings.IMPORT_MAX_UNPACKED_BYTES


# -- imports running at once, per user and in all ---------------------------------------------------------


@contextmanager
def held_elsewhere(user):
    """One of `user`'s import slots (and one of all), held by another thread — another database session —
    until the block ends, as an import running in another worker would hold it."""
    from django.db import connection

    from riskreg.importers.slots import import_slot

    taken, done, failed = threading.Event(), threading.Event(), []

    def hold():
        try:
            with import_slot(user):
                taken.set()
                done.wait(60)
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            failed.append(error)
            taken.set()
        finally:
            connection.close()

    thread = threading.Thread(target=hold)
    thread.start()
    taken.wait(60)
    try:
        assert not failed, failed
        yield
    finally:
        done.set()
        thread.join(60)


def test_a_second_api_import_of_one_user_at_once_is_a_429_that_writes_nothing(client, evaluator, evaluator2, target,
                                                                               media):  # fmt: skip
    mine, theirs = token(evaluator), token(evaluator2)
    before = written(media)
    with held_elsewhere(evaluator):
        busy = _api(client, mine, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target)
        assert busy.status_code == 429 and busy["Retry-After"] == "30"
        assert "(IMPORT_MAX_CONCURRENT_PER_USER = 1)" in busy.json()["error"], busy.json()
        assert written(media) == before
        other = _api(client, theirs, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target)
        assert other.status_code == 200, other.content  # another user's import is not held up
    again = _api(client, mine, [SimpleUploadedFile("b.eval", _second())], target)
    assert again.status_code == 200, again.content  # the slot is free once the other import ends


def test_imports_beyond_the_limit_in_all_are_refused(client, evaluator, evaluator2, target, media, settings):
    settings.IMPORT_MAX_CONCURRENT = 1
    raw = token(evaluator)
    before = written(media)
    with held_elsewhere(evaluator2):
        busy = _api(client, raw, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target)
    assert busy.status_code == 429 and "(IMPORT_MAX_CONCURRENT = 1)" in busy.json()["error"], busy.json()
    assert written(media) == before
    settings.IMPORT_MAX_CONCURRENT = settings.IMPORT_MAX_CONCURRENT_PER_USER = 0  # 0: no limit
    with held_elsewhere(evaluator):
        assert _api(client, raw, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target).status_code == 200


def test_the_browser_preview_and_confirmation_take_a_slot_too(client, evaluator, target, media):
    client.force_login(evaluator)
    form = {"snapshot": target["snapshot"].pk, "category": target["category"].pk}
    before = written(media)
    with held_elsewhere(evaluator):
        busy = client.post(reverse("importers:upload"), {"log": [SimpleUploadedFile("a.eval", GOOD.read_bytes())],
                                                         **form})  # fmt: skip
        assert busy.status_code == 429 and "IMPORT_MAX_CONCURRENT_PER_USER" in busy.content.decode()
        assert written(media) == before  # nothing staged either
    preview = client.post(reverse("importers:upload"), {"log": [SimpleUploadedFile("a.eval", GOOD.read_bytes())],
                                                        **form})  # fmt: skip
    assert preview.status_code == 200
    confirm = {**preview.context["confirm"].initial, "rule": ""}
    with held_elsewhere(evaluator):
        busy = client.post(reverse("importers:confirm"), confirm)
        assert busy.status_code == 429 and "Your preview is still waiting" in busy.content.decode()
        assert Evaluation.objects.count() == 0
    done = client.post(reverse("importers:confirm"), confirm)  # the preview waited: confirming again works
    assert done.status_code == 302 and Evaluation.objects.count() == 1


HOLD = """
import sys, psycopg
key, params = int(sys.argv[1]), dict(zip(("dbname", "user", "password", "host", "port"), sys.argv[2:]))
with psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True) as session:
    session.execute("SELECT pg_advisory_lock(%s)", [key])
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


def test_a_slot_held_by_another_process_refuses_the_import(client, evaluator, target, media):
    """The slots are seen across processes, as gunicorn's workers are: here another process holds one."""
    import subprocess
    import sys

    from django.db import connection

    from riskreg.importers.slots import _key

    if connection.vendor != "postgresql":
        pytest.skip("an in-memory SQLite test database lives in one process (its slots are file locks)")
    raw, database = token(evaluator), connection.settings_dict
    params = [str(database.get(key) or "") for key in ("NAME", "USER", "PASSWORD", "HOST", "PORT")]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(_key(f"user:{evaluator.pk}:0")), *params],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        before = written(media)
        busy = _api(client, raw, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target)
        assert busy.status_code == 429 and "IMPORT_MAX_CONCURRENT_PER_USER" in busy.json()["error"]
        assert written(media) == before
    finally:
        holder.stdin.close()
        holder.wait(30)
    assert _api(client, raw, [SimpleUploadedFile("a.eval", GOOD.read_bytes())], target).status_code == 200
