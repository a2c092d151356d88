"""Issue 18: a Merkle tree over the trail, signed checkpoints and proofs that outsiders verify.

The tree and proofs are checked three ways: against a plain recursive RFC 6962 tree written here,
by verify.py (the file an outsider copies), and by Go's golang.org/x/mod/sumdb/note and sumdb/tlog
(test_independent_verifier.py). Tampering of each kind the issue names is caught.
"""

import base64
import hashlib
import io
import json
import os
import stat
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

import factories as make
from riskreg.audit import merkle, signing
from riskreg.audit import verify as verify_py
from riskreg.audit.models import AuditCheckpoint, AuditEvent, AuditTreeNode
from riskreg.audit.verify import (
    NoteError,
    ProofError,
    TreeBuilder,
    check_consistency,
    check_inclusion,
    check_note,
    parse_checkpoint,
)  # fmt: skip

pytestmark = pytest.mark.django_db


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1's MTH, as written in the RFC: recursive, nothing stored."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def _stored(leaves):
    nodes = {}
    builder = TreeBuilder(on_node=lambda h, p, value: nodes.__setitem__((h, p), value))
    for leaf in leaves:
        builder.append(leaf)
    return builder, (lambda h, p: nodes[(h, p)])


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 64, 100])
def test_the_tree_and_its_proofs_match_rfc_6962(n):
    leaves = _leaves(n)
    builder, get = _stored(leaves)
    assert builder.root() == reference_root(leaves)
    for size in range(1, n + 1):
        root = reference_root(leaves[:size])
        for index in range(size):
            proof = merkle._path(index, 0, size, get)
            check_inclusion(index, size, leaves[index], proof, root)
            if proof:  # a flipped bit anywhere in the proof fails it
                bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:]] + proof[1:]
                with pytest.raises(ProofError):
                    check_inclusion(index, size, leaves[index], bad, root)
            with pytest.raises(ProofError):
                check_inclusion(index, size, b"\x01" * 32, proof, root)  # another leaf
        for old in range(0, size + 1):
            proof = merkle._subproof(old, 0, size, True, get) if 0 < old < size else []
            check_consistency(old, size, reference_root(leaves[:old]), root, proof)
            if 0 < old < size:
                rewritten = reference_root([b"\x02" * 32] + leaves[1:old])
                with pytest.raises(ProofError):
                    check_consistency(old, size, rewritten, root, proof)


# -- on the demo's trail ---------------------------------------------------------------------------------


def verifier_key() -> str:
    return signing.load().verifier_key


def run_verify(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    import contextlib

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = verify_py.main(list(args))
    return code, out.getvalue() + err.getvalue()


def export(tmp_path) -> Path:
    path = tmp_path / "audit.jsonl"
    with path.open("w") as stream:
        call_command("export_audit", "--format", "jsonl", stdout=stream)
    return path


def write(tmp_path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_ends_with_a_checkpoint_signed_by_a_marked_demo_key(demo, tmp_path):
    checkpoint = AuditCheckpoint.objects.get()
    assert checkpoint.demo_key and checkpoint.tree_size == AuditEvent.objects.count() > 100
    assert signing.DEMO_MARK in signing.key_path().read_text()
    origin, size, root = parse_checkpoint(check_note(checkpoint.note, verifier_key())[0])
    assert (origin, size) == ("riskreg.localhost/audit", checkpoint.tree_size)
    leaves = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)]
    assert root == reference_root(leaves) == bytes.fromhex(checkpoint.root_hash)
    code, said = run_verify("checkpoint", str(write(tmp_path, "cp.txt", checkpoint.note)), "--key", verifier_key(),
                            "--export", str(export(tmp_path)))  # fmt: skip
    assert code == 0 and f"the export's first {size} events give that root" in said


def test_witnesses_fetch_the_checkpoint_and_the_key_without_logging_in(demo):
    client = Client()
    response = client.get(reverse("audit:checkpoint"))
    assert response.status_code == 200 and response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == AuditCheckpoint.objects.get().note
    key = client.get(reverse("audit:key")).content.decode().strip()
    assert key == verifier_key()
    check_note(response.content.decode(), key)
    assert client.get(reverse("audit:checkpoint-n", args=[99999])).status_code == 404
    assert client.get("/audit/checkpoint/99999999999999999999999").status_code == 404
    assert client.get(reverse("audit:prove", args=[1])).status_code == 302  # the proof page needs a login


def test_a_new_checkpoint_extends_the_old_one_and_proves_every_kind_of_event(demo, tmp_path):
    first = AuditCheckpoint.objects.get()
    make.category("added-later")
    out = io.StringIO()
    call_command("audit_checkpoint", stdout=out)
    second = AuditCheckpoint.objects.latest()
    assert second.pk != first.pk and second.tree_size > first.tree_size and out.getvalue() == second.note
    call_command("audit_checkpoint", stdout=io.StringIO(), stderr=io.StringIO())
    assert AuditCheckpoint.objects.count() == 2  # nothing appended since: the same checkpoint stands

    proof = io.StringIO()
    call_command("audit_prove", "--consistency", str(first.pk), str(second.pk), stdout=proof)
    kept = write(tmp_path, "kept.txt", first.note)  # what a witness fetched from /audit/checkpoint and kept
    code, said = run_verify("consistency", str(write(tmp_path, "c.txt", proof.getvalue())), "--key", verifier_key(),
                            "--kept", str(kept))  # fmt: skip
    assert code == 0 and "the checkpoint you kept" in said, said
    for seq in (1, first.tree_size, second.tree_size):
        text = io.StringIO()
        call_command("audit_prove", str(seq), stdout=text)
        code, said = run_verify("inclusion", str(write(tmp_path, f"i{seq}.txt", text.getvalue())), "--key",
                                verifier_key(), "--export", str(export(tmp_path)))  # fmt: skip
        assert code == 0 and f"event {seq} (hash" in said, said
    text = io.StringIO()
    call_command("audit_prove", "3", "--checkpoint", str(first.pk), stdout=text)
    assert f"size {first.tree_size}\n" in text.getvalue()


def test_the_auditors_page_proves_an_approval(client, auditor, demo):
    from riskreg.decisions.models import ReleaseDecision

    decision = ReleaseDecision.objects.get(reference="ILLUS-1")
    approval = AuditEvent.objects.filter(model="decisions.ReleaseDecision", object_id=str(decision.pk),
                                         reason__startswith="approved").get()  # fmt: skip
    client.force_login(auditor)
    assert f'href="{reverse("audit:prove", args=[approval.seq])}"' in client.get(reverse("audit:list"),
                                                                                  {"object_id": decision.pk}).content.decode()  # noqa: E501
    page = client.get(reverse("audit:prove", args=[approval.seq])).content.decode()
    assert "riskreg inclusion proof" in page and "with the demo key" in page
    download = client.get(reverse("audit:prove", args=[approval.seq]), {"download": "1"})
    assert download["Content-Type"].startswith("text/plain") and b"event %d\n" % approval.seq in download.content
    first = AuditCheckpoint.objects.get()
    make.category("later")
    merkle.make_checkpoint()
    second = AuditCheckpoint.objects.latest()
    response = client.get(reverse("audit:consistency"), {"old": first.pk, "new": second.pk})
    assert response.status_code == 200 and response.content.startswith(b"riskreg consistency proof\n")
    assert client.get(reverse("audit:consistency"), {"old": "x", "new": "1"}).status_code == 400
    assert client.get(reverse("audit:prove", args=[10**9])).status_code == 404


def test_signing_a_checkpoint_from_the_page_needs_the_export_right(client, viewer, auditor, demo):
    make.category("later")
    client.force_login(viewer)
    assert client.post(reverse("audit:sign-checkpoint")).status_code == 403
    client.force_login(auditor)
    assert client.post(reverse("audit:sign-checkpoint")).status_code == 302
    assert AuditCheckpoint.objects.count() == 2


# -- tampering ---------------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


@pytest.mark.parametrize("tamper", ["edit", "delete", "reorder"])
def test_an_edited_deleted_or_reordered_event_does_not_give_the_checkpoints_root(demo, tmp_path, tamper):
    lines = _lines(export(tmp_path))
    if tamper == "edit":
        event = json.loads(lines[10])
        event["reason"] = "nothing to see here"
        lines[10] = json.dumps(event) + "\n"
    elif tamper == "delete":
        del lines[10]
    else:
        lines[10], lines[11] = lines[11], lines[10]
    bad = write(tmp_path, "bad.jsonl", "".join(lines))
    checkpoint = write(tmp_path, "cp.txt", AuditCheckpoint.objects.get().note)
    code, said = run_verify("checkpoint", str(checkpoint), "--key", verifier_key(), "--export", str(bad))
    assert code == 1 and "FAILED" in said


def test_an_edited_event_with_its_hash_recomputed_still_fails_against_the_signed_root(demo, tmp_path):
    """Whoever rewrites an event and every hash after it has a valid chain, but not the signed root."""
    lines = [json.loads(line) for line in _lines(export(tmp_path))]
    lines[10]["reason"] = "rewritten"
    previous = lines[9]["hash"]
    for event in lines[10:]:
        event["prev_hash"] = previous
        document = {k: v for k, v in event.items() if k not in ("prev_hash", "hash")}
        event["hash"] = previous = verify_py.event_hash(event["prev_hash"], document)
    rewritten = write(tmp_path, "re.jsonl", "".join(json.dumps(e) + "\n" for e in lines))
    checkpoint = write(tmp_path, "cp.txt", AuditCheckpoint.objects.get().note)
    assert run_verify(str(rewritten))[0] == 0  # a chain on its own says nothing against a rewrite
    code, said = run_verify("checkpoint", str(checkpoint), "--key", verifier_key(), "--export", str(rewritten))
    assert code == 1 and "do not give the checkpoint's root" in said


def test_a_forged_checkpoint_or_one_signed_by_another_key_is_refused(demo, tmp_path):
    note = AuditCheckpoint.objects.get().note
    origin, size, _root = parse_checkpoint(note.split("\n\n")[0] + "\n")
    forged = note.replace(f"\n{size}\n", f"\n{size + 5}\n", 1)
    code, said = run_verify("checkpoint", str(write(tmp_path, "f.txt", forged)), "--key", verifier_key())
    assert code == 1 and "not valid for this text" in said
    other = signing.generate(origin)
    code, said = run_verify("checkpoint", str(write(tmp_path, "o.txt", other.sign_note(note.split("\n\n")[0] + "\n"))),
                            "--key", verifier_key())  # fmt: skip
    assert code == 1 and "not signed by the key" in said
    impostor = signing.SigningKey(signing.load().name, os.urandom(32))  # the same name, another key
    with pytest.raises(NoteError):
        check_note(impostor.sign_note(note.split("\n\n")[0] + "\n"), verifier_key())


def test_a_rewritten_or_truncated_tree_has_no_consistency_proof(demo, tmp_path):
    """A server holding the key rewrites an early event and signs the new tree: a witness holding the
    old checkpoint asks for the consistency proof, and no proof the server can give passes."""
    old = AuditCheckpoint.objects.get()
    leaves = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)]
    rewritten = [b"\x07" * 32] + leaves[1:] + [b"\x08" * 32]
    new_root = reference_root(rewritten)
    _, get = _stored(rewritten)
    proof = merkle._subproof(len(leaves), 0, len(rewritten), True, get)
    with pytest.raises(ProofError, match="does not extend"):
        check_consistency(old.tree_size, len(rewritten), bytes.fromhex(old.root_hash), new_root, proof)
    truncated = leaves[:-3]
    with pytest.raises(ProofError):
        check_consistency(old.tree_size, len(truncated), bytes.fromhex(old.root_hash), reference_root(truncated), [])


def test_a_proof_that_carries_a_re_signed_old_checkpoint_fails_against_the_one_the_witness_kept(demo, tmp_path):
    """Issue 27, item 3: a database owner holding the key rewrites event 290, recomputes the chain and
    re-signs both trees. The proof is consistent with its own (re-signed) old checkpoint, so only the
    checkpoint the witness kept can show the rewrite: verify.py compares the two and refuses."""
    kept = AuditCheckpoint.objects.get()
    kept_file = write(tmp_path, "kept.txt", Client().get(reverse("audit:checkpoint")).content.decode())
    leaves = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)]
    at = min(289, len(leaves) - 2)  # event 290 and, its chain recomputed, every later one
    rewritten = leaves[:at] + [hashlib.sha256(b"rewritten" + leaf).digest() for leaf in leaves[at:]]
    rewritten += [hashlib.sha256(b"new %d" % i).digest() for i in range(3)]
    key, old_size, new_size = signing.load(), kept.tree_size, len(rewritten)
    _, get = _stored(rewritten)

    def note(size):
        return key.sign_note(f"{kept.origin}\n{size}\n{base64.b64encode(reference_root(rewritten[:size])).decode()}\n")

    proof = "".join(base64.b64encode(h).decode() + "\n" for h in merkle._subproof(old_size, 0, new_size, True, get))
    document = (f"riskreg consistency proof\nold {old_size}\nnew {new_size}\n{proof}\n"
                f"{note(old_size)}\n{note(new_size)}")  # fmt: skip
    forged = write(tmp_path, "c.txt", document)
    code, said = run_verify("consistency", str(forged), "--key", verifier_key(), "--kept", str(kept_file))
    assert code == 1 and "the trail was rewritten since you kept it" in said, said
    assert kept.root_hash in said  # the root the witness kept is named
    code, said = run_verify("consistency", str(forged), "--key", verifier_key())
    assert code == 1 and "--kept" in said, said  # no kept checkpoint: nothing is claimed
    other = write(tmp_path, "other.txt", note(old_size - 1))  # a kept checkpoint of another size
    code, said = run_verify("consistency", str(forged), "--key", verifier_key(), "--kept", str(other))
    assert code == 1 and "not from the checkpoint you kept" in said, said


def test_the_server_refuses_to_sign_a_tree_that_does_not_extend_its_last_checkpoint(demo):
    latest = AuditCheckpoint.objects.get()
    key = signing.load()
    make.category("later")
    size = latest.tree_size + 1
    text = f"{latest.origin}\n{size}\n{'A' * 43}=\n"
    AuditCheckpoint.objects.create(
        tree_size=size, root_hash=base64.b64decode("A" * 43 + "=").hex(), origin=latest.origin,
        key_name=key.name, verifier_key=key.verifier_key, note=key.sign_note(text),
    )  # a checkpoint signed with the real key of a tree that is not the events': as if they had been rewritten since
    make.category("later still")
    with pytest.raises(CommandError, match="no longer extends checkpoint"):
        call_command("audit_checkpoint", stdout=io.StringIO())


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL refuses the delete")
def test_a_gap_in_the_trail_stops_the_tree(demo):
    make.category("later")
    AuditEvent.objects.filter(seq=AuditEvent.objects.order_by("-seq").values_list("seq", flat=True)[0]).delete()
    from riskreg.audit.models import AuditHead

    AuditHead.objects.filter(pk=1).update(seq=AuditHead.objects.get(pk=1).seq + 1)
    with pytest.raises(merkle.TreeError, match="missing"):
        merkle.extend()


# -- the key ----------------------------------------------------------------------------------------------


def test_audit_keygen_writes_a_private_key_file_once_and_prints_the_verifier_key(settings, tmp_path, db):
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "keys" / "audit.key")
    out = io.StringIO()
    call_command("audit_keygen", "--name", "example.org/audit", stdout=out, stderr=io.StringIO())
    path = Path(settings.AUDIT_SIGNING_KEY)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    name, key_id, public = verify_py.parse_verifier_key(out.getvalue().strip())
    assert name == "example.org/audit" and key_id == hashlib.sha256(b"example.org/audit\n\x01" + public).digest()[:4]
    assert signing.load().verifier_key == out.getvalue().strip() and not signing.load().demo
    with pytest.raises(CommandError, match="already exists"):
        call_command("audit_keygen", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="no spaces"):
        settings.AUDIT_SIGNING_KEY = str(tmp_path / "other.key")
        call_command("audit_keygen", "--name", "bad name+", stdout=io.StringIO())
    path.write_text("PRIVATE+KEY+x+00000000+AAAA\n")
    with pytest.raises(signing.KeyUnavailable, match="not usable"):
        settings.AUDIT_SIGNING_KEY = str(path)
        signing.load()


def test_the_private_key_never_reaches_the_database_or_a_page(client, auditor, demo, tmp_path):
    secret = [line for line in signing.key_path().read_text().splitlines() if line.startswith("PRIVATE")][0]
    # PRIVATE+KEY+<name>+<key id>+<base64 key>: the base64 may itself hold "+" (a split from the right once
    # cut the seed to two letters, which a CI run then found in the export by chance)
    seed_b64 = secret.split("+", 4)[4]
    assert len(seed_b64) == 44, seed_b64
    assert seed_b64 not in export(tmp_path).read_text()
    for checkpoint in AuditCheckpoint.objects.all():
        assert seed_b64 not in checkpoint.note + checkpoint.verifier_key
    client.force_login(auditor)
    for url in (reverse("audit:list"), reverse("audit:key"), reverse("audit:checkpoint"),
                reverse("audit:prove", args=[1])):  # fmt: skip
        assert seed_b64 not in client.get(url).content.decode()


def test_keys_whose_base64_holds_a_plus_sign_read_back():
    """Base64 uses '+': the key formats split on the first '+' signs only (found by the first test run)."""
    found = 0
    while found < 3:
        key = signing.generate("example.org/audit")
        private_b64 = [line for line in key.file_text().splitlines() if line.startswith("PRIVATE")][0].split("+", 4)[4]
        if "+" in key.verifier_key.split("+", 2)[2] or "+" in private_b64:
            found += 1
            assert signing.parse(key.file_text()).seed == key.seed
            assert verify_py.parse_verifier_key(key.verifier_key)[2] == key.public_key
            check_note(key.sign_note("a\n"), key.verifier_key)


def test_without_a_key_the_commands_say_what_to_do(settings, tmp_path, db):
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "absent.key")
    with pytest.raises(CommandError, match="audit_keygen"):
        call_command("audit_checkpoint", stdout=io.StringIO())
    assert Client().get(reverse("audit:key")).status_code == 404
    assert Client().get(reverse("audit:checkpoint")).status_code == 404
    with pytest.raises(CommandError, match="No checkpoint holds event 1"):
        call_command("audit_prove", "1", stdout=io.StringIO())


@pytest.mark.skipif(os.environ.get("DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL refuses the rewrite")
def test_verify_audit_rebuilds_the_tree_and_checks_every_checkpoint(demo):
    """On SQLite (no triggers) the rows can be rewritten in place, as a database owner could: caught."""
    from riskreg.audit.chain import verify_database

    assert verify_database().ok
    checkpoint = AuditCheckpoint.objects.get()
    key = signing.load()
    text = f"{checkpoint.origin}\n{checkpoint.tree_size}\n{'B' * 43}=\n"
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(note=key.sign_note(text))
    problems = verify_database().problems  # the note no longer says what the row's columns say
    assert any(f"checkpoint row {checkpoint.pk} is not trusted" in p and "columns" in p for p in problems), problems
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(root_hash=base64.b64decode("B" * 43 + "=").hex())
    problems = verify_database().problems  # re-signed by whoever holds the key, columns and all
    assert any(f"signed checkpoint {checkpoint.pk} does not match the events" in p for p in problems), problems
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(note=checkpoint.note.replace("\n", "\n\n", 1),
                                                            root_hash=checkpoint.root_hash)  # fmt: skip
    assert any(f"checkpoint row {checkpoint.pk} is not trusted" in p for p in verify_database().problems)
    AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(note=checkpoint.note)
    assert verify_database().ok
    height, position = merkle._perfect_subtrees(checkpoint.tree_size)[-1]  # a node the root is made from
    AuditTreeNode.objects.filter(key=merkle.node_key(height, position)).update(hash="00" * 32)
    problems = verify_database().problems
    assert any("the stored Merkle tree does not match" in p for p in problems), problems


def test_the_deploy_check_warns_about_the_demo_key_or_no_key(settings, tmp_path, demo):
    from riskreg.audit.apps import signing_key_settings

    assert [w.id for w in signing_key_settings()] == ["riskreg.W004"]  # seed_demo's demo key
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "none.key")
    assert [w.id for w in signing_key_settings()] == ["riskreg.W003"]
    call_command("audit_keygen", stdout=io.StringIO(), stderr=io.StringIO())
    assert signing_key_settings() == []


def test_the_deploy_check_warns_about_a_signing_key_file_others_may_read(settings, tmp_path, db):
    """Low finding of issue 27: a group- or world-readable key lets any local user sign a rewritten trail."""
    from riskreg.audit.apps import signing_key_settings

    settings.AUDIT_SIGNING_KEY = str(tmp_path / "audit.key")
    call_command("audit_keygen", stdout=io.StringIO(), stderr=io.StringIO())
    path = Path(settings.AUDIT_SIGNING_KEY)
    assert signing_key_settings() == []  # audit_keygen writes it 0600
    for mode in (0o644, 0o640, 0o604, 0o660):
        path.chmod(mode)
        warnings = signing_key_settings()
        assert [w.id for w in warnings] == ["riskreg.W005"], mode
        assert f"mode {mode:04o}" in warnings[0].msg and "chmod 600" in warnings[0].msg
    path.chmod(0o400)
    assert signing_key_settings() == []
