"""Issue 18: riskreg's checkpoints and proofs, checked by a verifier riskreg did not write.

tests/audit/go_verifier/main.go calls Go's golang.org/x/mod/sumdb/note (signed notes, Ed25519 verifier
keys, key ids) and golang.org/x/mod/sumdb/tlog (RFC 6962 tree hashes, record and tree proofs), from
Debian's golang-go and golang-golang-x-mod-dev; the test compiles it. Without Go these tests are
skipped, except in CI (REQUIRE_GO_VERIFIER=1), where they fail.
"""

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

import factories as make
from riskreg.audit import merkle, signing
from riskreg.audit.models import AuditCheckpoint, AuditEvent

pytestmark = pytest.mark.django_db

SOURCE = Path(__file__).parent / "go_verifier" / "main.go"
GOPATH = "/usr/share/gocode"  # where Debian's golang-*-dev packages put Go sources


@pytest.fixture(scope="session")
def go_verifier(tmp_path_factory) -> Path:
    missing = shutil.which("go") is None or not Path(GOPATH, "src/golang.org/x/mod/sumdb/tlog").is_dir()
    if missing:
        message = "Go and golang.org/x/mod are needed (apt-get install golang-go golang-golang-x-mod-dev)"
        if os.environ.get("REQUIRE_GO_VERIFIER") == "1":
            pytest.fail(message + " (REQUIRE_GO_VERIFIER=1)")
        pytest.skip(message)
    folder = tmp_path_factory.mktemp("go")
    binary = folder / "go_verifier"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH, "GOCACHE": str(folder / "cache"), "GOFLAGS": "",
           "HOME": str(folder)}  # fmt: skip
    shutil.copy(SOURCE, folder / "main.go")
    subprocess.run(["go", "build", "-o", str(binary), "main.go"], cwd=folder, env=env, check=True,
                   capture_output=True, timeout=300)  # fmt: skip
    return binary


def go(binary: Path, *args) -> tuple[int, str]:
    result = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True, timeout=120)
    return result.returncode, result.stdout + result.stderr


def _file(tmp_path, name, text) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _export(tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    with path.open("w") as stream:
        call_command("export_audit", "--format", "jsonl", stdout=stream)
    return path


def _command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_go_checks_the_checkpoint_against_the_export_and_every_proof(demo, go_verifier, tmp_path):
    key = signing.load().verifier_key
    first = AuditCheckpoint.objects.get()
    for _ in range(3):
        make.category()
    second, _ = merkle.make_checkpoint()
    export = _export(tmp_path)
    for checkpoint in (first, second):
        signed = _file(tmp_path, f"cp{checkpoint.pk}.txt", checkpoint.note)
        code, out = go(go_verifier, "checkpoint", key, signed, export)
        assert code == 0 and out.strip() == "OK", out
    for seq in {1, 2, 7, first.tree_size, first.tree_size + 1, second.tree_size}:
        proof = _file(tmp_path, f"in{seq}.txt", _command("audit_prove", str(seq)))
        assert go(go_verifier, "inclusion", key, proof) == (0, "OK\n"), seq
    proof = _file(tmp_path, "cons.txt", _command("audit_prove", "--consistency", str(first.pk), str(second.pk)))
    kept = _file(tmp_path, "kept.txt", first.note)
    assert go(go_verifier, "consistency", key, proof, kept) == (0, "OK\n")


def test_go_catches_each_kind_of_tampering(demo, go_verifier, tmp_path):
    key = signing.load().verifier_key
    checkpoint = AuditCheckpoint.objects.get()
    note = checkpoint.note

    # an edited event in the export
    lines = _export(tmp_path).read_text().splitlines(keepends=True)
    event = json.loads(lines[5])
    event["hash"] = "ab" * 32
    edited = _file(tmp_path, "edited.jsonl", "".join(lines[:5] + [json.dumps(event) + "\n"] + lines[6:]))
    assert go(go_verifier, "checkpoint", key, _file(tmp_path, "cp.txt", note), edited)[0] == 1
    # a deleted and a reordered event
    deleted = _file(tmp_path, "deleted.jsonl", "".join(lines[:5] + lines[6:]))
    assert go(go_verifier, "checkpoint", key, _file(tmp_path, "cp.txt", note), deleted)[0] == 1
    reordered = _file(tmp_path, "reordered.jsonl", "".join(lines[:5] + [lines[6], lines[5]] + lines[7:]))
    assert go(go_verifier, "checkpoint", key, _file(tmp_path, "cp.txt", note), reordered)[0] == 1
    # a forged checkpoint (a size changed after signing), and one signed by another key
    size = checkpoint.tree_size
    forged = _file(tmp_path, "forged.txt", note.replace(f"\n{size}\n", f"\n{size - 1}\n", 1))
    code, out = go(go_verifier, "checkpoint", key, forged)
    assert code == 1 and "signed note" in out
    other = signing.generate(signing.load().name)
    by_other = other.sign_note(note.split("\n\n")[0] + "\n")
    code, out = go(go_verifier, "checkpoint", key, _file(tmp_path, "other.txt", by_other))
    assert code == 1 and "signed note" in out
    # an inclusion proof for an event whose hash was changed
    proof = _command("audit_prove", "5")
    real = AuditEvent.objects.get(seq=5).hash
    bad = _file(tmp_path, "bad-in.txt", proof.replace(f"hash {real}", f"hash {'cd' * 32}"))
    assert go(go_verifier, "inclusion", key, bad)[0] == 1
    # a rewritten tree, signed with the real key by whoever holds it: no consistency proof passes
    for _ in range(2):
        make.category()
    merkle.make_checkpoint()
    later = AuditCheckpoint.objects.latest()
    honest = _command("audit_prove", "--consistency", str(checkpoint.pk), str(later.pk))
    forged_root = "A" * 43 + "="
    rewritten_note = signing.load().sign_note(f"{later.origin}\n{later.tree_size}\n{forged_root}\n")
    rewritten = honest.replace(later.note, rewritten_note)
    kept = _file(tmp_path, "kept.txt", note)
    assert go(go_verifier, "consistency", key, _file(tmp_path, "honest.txt", honest), kept) == (0, "OK\n")
    assert go(go_verifier, "consistency", key, _file(tmp_path, "rewritten.txt", rewritten), kept)[0] == 1
    # issue 27: the whole history rewritten and both trees re-signed with the real key; the proof is
    # consistent with its own re-signed old checkpoint, but not with the one the witness kept
    fake_old = signing.load().sign_note(f"{checkpoint.origin}\n{checkpoint.tree_size}\n{'B' * 43}=\n")
    resigned = honest.replace(checkpoint.note, fake_old)
    assert resigned != honest
    code, out = go(go_verifier, "consistency", key, _file(tmp_path, "resigned.txt", resigned), kept)
    assert code == 1 and "not the one the witness kept" in out, out
    code, out = go(go_verifier, "consistency", key, _file(tmp_path, "honest.txt", honest))
    assert code == 1 and "KEPT_FILE" in out, out
