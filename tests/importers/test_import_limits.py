"""Issue 27: bad archives and hostile logs are refused with a clear message and write nothing.

A corrupt compressed member is a refusal, not a 500; files written during a request that rolls back
are removed; the work of reading a log is bounded (JSON values counted as they stream), not only
its bytes; and imports are limited per user and in all, across processes.
"""

import io
import json
import random
import zipfile as stdlib_zipfile
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

    def read_log(file, called):
        if called == name:
            raise RuntimeError("injected: a bug while reading the second file")
        return real(file, called)

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
