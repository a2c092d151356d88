"""Issue 27, item 2: checkpoint rows and tree nodes the app's database role can plant.

The app's role may INSERT (not UPDATE or DELETE) on the checkpoint and tree tables (issue 14), so every
attack here is a raw INSERT through the test's own connection: on PostgreSQL that is the app's role
(tests/conftest.py), where the rows, once in, can never be removed. What a planted row must not do: give
/audit/key a key, pass verify_audit, stop later signing, make the server sign a false root, or be served
as the latest checkpoint. What it must be: named by verify_audit.
"""

import base64
import contextlib
import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

import factories as make
from riskreg.audit import merkle, signing
from riskreg.audit import verify as verify_py
from riskreg.audit.apps import signing_key_settings
from riskreg.audit.chain import verify_database
from riskreg.audit.models import AuditCheckpoint, AuditEvent, AuditTreeNode
from riskreg.audit.verify import TreeBuilder, check_inclusion, check_note, parse_checkpoint

pytestmark = pytest.mark.django_db


def plant_checkpoint(note: str, *, verifier_key: str, tree_size: int | None = None, root_hash: str | None = None,
                     key_name: str = "attacker") -> int:  # fmt: skip
    """INSERT a checkpoint row as the app's role would, with the columns its note says unless told otherwise."""
    origin, size, root = parse_checkpoint(note.split("\n\n")[0] + "\n")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditcheckpoint (tree_size, root_hash, origin, key_name, verifier_key, demo_key, note,"
            " made_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            [size if tree_size is None else tree_size, root.hex() if root_hash is None else root_hash, origin,
             key_name, verifier_key, False, note, timezone.now()],
        )  # fmt: skip
    return AuditCheckpoint.objects.order_by("-id").values_list("id", flat=True)[0]


def plant_node(height: int, position: int, value: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO audit_audittreenode (key, hash) VALUES (%s, %s)",
                       [merkle.node_key(height, position), value.hex()])  # fmt: skip


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 §2.1's MTH, as written in the RFC (as in test_checkpoints.py)."""
    if len(leaves) <= 1:
        return hashlib.sha256(b"\x00" + leaves[0] if leaves else b"").digest()
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + reference_root(leaves[:k]) + reference_root(leaves[k:])).digest()


def events_root(size: int) -> bytes:
    leaves = [bytes.fromhex(h) for h in AuditEvent.objects.order_by("seq").values_list("hash", flat=True)[:size]]
    return reference_root(leaves)


def attacker_note(size: int, root: bytes) -> tuple[signing.SigningKey, str]:
    attacker = signing.generate("attacker.example/audit")
    return attacker, attacker.sign_note(f"{merkle.origin()}\n{size}\n{base64.b64encode(root).decode()}\n")


def problems() -> list[str]:
    return verify_database().problems


def test_the_key_page_serves_a_configured_key_only_never_one_from_a_checkpoint_row(demo, settings, tmp_path):
    """2(a): with the key file unreadable, /audit/key used to serve the newest row's stored key."""
    real = signing.load().verifier_key
    attacker, note = attacker_note(AuditEvent.objects.count(), events_root(AuditEvent.objects.count()))
    plant_checkpoint(note, verifier_key=attacker.verifier_key)
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "moved-away.key")
    response = Client().get(reverse("audit:key"))
    assert response.status_code == 404 and attacker.verifier_key.encode() not in response.content
    found = problems()  # nor does verify_audit take the row's key: with none configured, it says so
    assert any("cannot be checked: no verifier key is configured" in p for p in found), found
    settings.AUDIT_VERIFIER_KEY = real  # a server (or witness) that holds only the published key
    assert Client().get(reverse("audit:key")).content.decode() == real + "\n"
    found = problems()
    assert any("not by a configured verifier key" in p for p in found) and len(found) == 2, found  # summary, reason


def test_verify_audit_checks_checkpoints_against_the_configured_key_not_the_rows_own(demo):
    """2(b): a checkpoint signed by any key, with that key in its row, used to verify OK."""
    size = AuditEvent.objects.count()
    attacker, note = attacker_note(size, events_root(size))  # the right root, the wrong signer
    planted = plant_checkpoint(note, verifier_key=attacker.verifier_key, key_name=attacker.name)
    found = problems()
    assert any(f"checkpoint row {planted} is not trusted" in p and "not by a configured verifier key" in p
               for p in found), found  # fmt: skip
    code = Client().get(reverse("audit:checkpoint-n", args=[planted])).status_code
    assert code == 404  # not served as a checkpoint of this log either
    with pytest.raises(CommandError, match=f"Checkpoint row {planted} is not trusted"):
        call_command("audit_checkpoint", "--show", str(planted), stdout=io.StringIO())
    listing = io.StringIO()
    call_command("audit_checkpoint", "--list", stdout=listing)
    assert [line for line in listing.getvalue().splitlines() if "NOT TRUSTED" in line][0].startswith(f"{planted}\t")
    with pytest.raises(CommandError, match="not trusted"):
        call_command("audit_prove", "1", "--checkpoint", str(planted), stdout=io.StringIO())


def test_a_planted_checkpoint_with_a_wrong_root_neither_stops_signing_nor_reads_as_a_rewrite(demo):
    """2(c): one inserted row with a wrong root used to stop every later signing for good, and made
    verify_audit report a rewrite that never happened."""
    genuine = AuditCheckpoint.objects.get()
    make.category("later")
    size = AuditEvent.objects.count()
    wrong = hashlib.sha256(b"not the trail").digest()
    # the real key's name on a signature it never made, and the same note signed by another key
    key = signing.load()
    text = f"{genuine.origin}\n{size}\n{base64.b64encode(wrong).decode()}\n"
    forged = key.sign_note(text).rsplit(" ", 1)[0] + " " + base64.b64encode(key.key_id + bytes(64)).decode() + "\n"
    first = plant_checkpoint(forged, verifier_key=key.verifier_key, key_name=key.name)
    attacker, note = attacker_note(size, wrong)
    second = plant_checkpoint(note, verifier_key=attacker.verifier_key)
    # a copy of the genuine note whose columns claim a larger tree
    third = plant_checkpoint(genuine.note, verifier_key=key.verifier_key, tree_size=size)

    checkpoint, made = merkle.make_checkpoint()
    assert made and checkpoint.tree_size == size and bytes.fromhex(checkpoint.root_hash) == events_root(size)
    found = problems()
    for planted in (first, second, third):
        assert any(f"checkpoint row {planted} is not trusted" in p for p in found), (planted, found)
    assert not any("does not match the events" in p or "rewritten" in p for p in found), found
    assert len(found) == 4 and found[0].startswith("3 planted checkpoint row(s)"), found  # the summary, 3 reasons


def test_tree_nodes_planted_ahead_are_never_signed_and_proofs_still_verify(demo, tmp_path):
    """2(d): nodes inserted where the next events' leaves go made the server sign a false root with the
    real key (and, once the events came, stop storing the tree)."""
    genuine = AuditCheckpoint.objects.get()
    n = genuine.tree_size
    later = n + 4
    # a false tree that extends the genuine one: its nodes for the next four leaves, planted before they come
    stack = [(h, bytes.fromhex(AuditTreeNode.objects.get(key=merkle.node_key(h, p)).hash))
             for h, p in merkle._perfect_subtrees(n)]  # fmt: skip
    false_tree = TreeBuilder(n, stack, on_node=lambda h, p, value: plant_node(h, p, value))
    for i in range(later - n):
        false_tree.append(hashlib.sha256(b"planted %d" % i).digest())
    bogus = b"\x00" * 32
    while AuditEvent.objects.count() < later:
        make.category(f"later {AuditEvent.objects.count()}")
    size = AuditEvent.objects.count()
    assert size == later

    checkpoint, made = merkle.make_checkpoint()
    assert made and checkpoint.tree_size == size
    assert false_tree.root() != events_root(size)
    assert bytes.fromhex(checkpoint.root_hash) == events_root(size)  # the events' root, not the planted one
    text, _checked = check_note(checkpoint.note, signing.load().verifier_key)
    assert parse_checkpoint(text)[2] == events_root(size)
    assert checkpoint.problems and "planted" in checkpoint.problems[0]
    # an inclusion proof through the planted leaves is computed from the events, and verifies
    for seq in (n + 1, size):
        document = merkle.inclusion_document(seq, checkpoint)
        proof = [base64.b64decode(line) for line in document.split("\n\n")[0].split("\n")[5:]]
        leaf = bytes.fromhex(AuditEvent.objects.get(seq=seq).hash)
        check_inclusion(seq - 1, size, leaf, proof, events_root(size))
    proof = io.StringIO()
    call_command("audit_prove", "--consistency", str(genuine.pk), str(checkpoint.pk), stdout=proof)
    (tmp_path / "c.txt").write_text(proof.getvalue())
    (tmp_path / "k.txt").write_text(genuine.note)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = verify_py.main(["consistency", str(tmp_path / "c.txt"), "--key", signing.load().verifier_key,
                               "--kept", str(tmp_path / "k.txt")])  # fmt: skip
    assert code == 0, out.getvalue()
    plant_node(0, 10**9, bogus)  # and a leaf far beyond the trail
    found = problems()
    assert any("stored tree node(s) are not what the events give" in p for p in found), found
    assert any("tree node(s) lie beyond the trail" in p for p in found), found
    make.category("and later")
    assert merkle.make_checkpoint()[1]  # signing goes on


def test_a_copy_of_an_old_checkpoint_is_not_served_as_the_latest(demo):
    """2(e): a copy of an old checkpoint row, being the newest row, was served at /audit/checkpoint."""
    old = AuditCheckpoint.objects.get()
    make.category("later")
    newer, _ = merkle.make_checkpoint()
    copy = plant_checkpoint(old.note, verifier_key=old.verifier_key, key_name=old.key_name)
    response = Client().get(reverse("audit:checkpoint"))
    assert response.content.decode() == newer.note
    found = problems()
    assert any(f"checkpoint row {copy} repeats checkpoint {old.pk}" in p for p in found), found


def test_old_keys_after_a_rotation_are_configured_not_read_from_the_rows(demo, settings, tmp_path):
    """After `audit_keygen --replace`, the old checkpoints verify only against an old key named in the
    configuration (AUDIT_OLD_VERIFIER_KEYS); a malformed or mismatched key setting is a deploy warning."""
    old_key = signing.load().verifier_key
    call_command("audit_keygen", "--replace", stdout=io.StringIO(), stderr=io.StringIO())
    first = AuditCheckpoint.objects.get()
    assert any(f"checkpoint row {first.pk} is not trusted" in p for p in problems())
    settings.AUDIT_OLD_VERIFIER_KEYS = [old_key]
    assert verify_database().ok
    assert Client().get(reverse("audit:checkpoint")).content.decode() == first.note
    make.category("later")
    second, made = merkle.make_checkpoint()  # the new key signs on from the old key's checkpoint
    assert made and Client().get(reverse("audit:checkpoint")).content.decode() == second.note
    assert verify_database().ok
    settings.AUDIT_VERIFIER_KEY = old_key
    assert "riskreg.W006" in [w.id for w in signing_key_settings()]
    settings.AUDIT_VERIFIER_KEY = "not a key"
    assert "riskreg.W006" in [w.id for w in signing_key_settings()]


def verify_audit() -> tuple[int, str]:
    """verify_audit's exit status and everything it printed."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_audit", stdout=out, stderr=err)
    except CommandError as error:
        return 1, out.getvalue() + err.getvalue() + str(error)
    return 0, out.getvalue() + err.getvalue()


def test_planted_checkpoint_rows_never_hide_a_live_row_written_around_history(demo, settings):
    """Follow-up of issue 27 item 2: 20 copies of the real checkpoint used up verify_audit's 20 lines, so a
    raw UPDATE of an evaluation (around history) was not named; the rows cannot be deleted, so every later
    run was red and hid what came next."""
    from riskreg.evaluations.models import Evaluation

    genuine = AuditCheckpoint.objects.get()
    copies = [plant_checkpoint(genuine.note, verifier_key=genuine.verifier_key, key_name=genuine.key_name)
              for _ in range(20)]  # fmt: skip
    evaluation = Evaluation.objects.order_by("pk").first()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE evaluations_evaluation SET finding = %s WHERE id = %s", ["rewritten", evaluation.pk])
    code, printed = verify_audit()
    assert code == 1
    assert f"evaluations.Evaluation #{evaluation.pk}: finding differs from its history row" in printed, printed
    assert f"20 planted checkpoint row(s) (ids {', '.join(map(str, copies[:10]))}, first 10 of 20)" in printed
    assert printed.count("repeats checkpoint") == 10, printed  # the first ten reasons, not twenty lines
    # acknowledged, the planted rows are a note; the evaluation is still named, and still fails the check
    assert f"AUDIT_ACKNOWLEDGED_PLANTED=checkpoint:{copies[0]}-{copies[-1]}" in printed, printed
    settings.AUDIT_ACKNOWLEDGED_PLANTED = [f"checkpoint:{copies[0]}-{copies[-1]}"]
    code, printed = verify_audit()
    assert code == 1 and "finding differs from its history row" in printed and "repeats" not in printed, printed
    assert "20 planted checkpoint row(s) acknowledged" in printed


def test_acknowledged_planted_rows_pass_until_something_new_is_planted(demo, settings):
    genuine = AuditCheckpoint.objects.get()
    copies = [plant_checkpoint(genuine.note, verifier_key=genuine.verifier_key, key_name=genuine.key_name)
              for _ in range(3)]  # fmt: skip
    size = AuditEvent.objects.count()
    attacker, note = attacker_note(size, events_root(size))
    other = plant_checkpoint(note, verifier_key=attacker.verifier_key)
    plant_node(0, 10**9, bytes(32))
    code, printed = verify_audit()
    assert code == 1 and "1 planted tree node(s) (nodes 0/1000000000)" in printed, printed
    value = f"checkpoint:{copies[0]}-{other},node:0/1000000000"
    assert f"AUDIT_ACKNOWLEDGED_PLANTED={value}" in printed, printed
    settings.AUDIT_ACKNOWLEDGED_PLANTED = value.split(",")
    code, printed = verify_audit()
    assert code == 0, printed
    assert "Note: 4 planted checkpoint row(s) acknowledged" in printed
    assert "Note: 1 planted tree node(s) acknowledged" in printed
    # something new: named alone, and the check fails again
    newer = plant_checkpoint(genuine.note, verifier_key=genuine.verifier_key)
    plant_node(1, 10**9, bytes(32))
    code, printed = verify_audit()
    assert code == 1, printed
    assert f"1 planted checkpoint row(s) (ids {newer})" in printed and f"checkpoint row {newer} repeats" in printed
    assert "1 planted tree node(s) (nodes 1/1000000000)" in printed
    assert f"checkpoint row {copies[0]} " not in printed, printed
    # an entry naming a row that is not planted (a trusted one, or none yet) acknowledges nothing, and says so
    settings.AUDIT_ACKNOWLEDGED_PLANTED = [f"checkpoint:{genuine.pk}-{other}", f"checkpoint:{newer + 5}", "node:x"]
    code, printed = verify_audit()
    assert code == 1 and f"names checkpoint {genuine.pk}, which is not a planted row now" in printed, printed
    assert f"names checkpoint {newer + 5}, which is not a planted row now" in printed
    assert "'node:x' is not checkpoint:ID" in printed
    assert "5 planted checkpoint row(s)" in printed


def plant_junk_checkpoints(count: int, *, copies: bool = False) -> None:
    """`count` junk checkpoint rows at the head's tree size with the log's origin, in one bulk INSERT (as the
    app's role): a note that names the real key and the right root, under a signature it never made (all
    different, or one note repeated with `copies`)."""
    import os

    size = AuditEvent.objects.count()
    key, root = signing.load(), events_root(size)
    text = f"{merkle.origin()}\n{size}\n{base64.b64encode(root).decode()}\n"
    prefix = key.sign_note(text).rsplit(" ", 1)[0] + " "
    same = os.urandom(64)
    rows = [(size, root.hex(), merkle.origin(), key.name, key.verifier_key, False,
             prefix + base64.b64encode(key.key_id + (same if copies else os.urandom(64))).decode() + "\n",
             timezone.now()) for _ in range(count)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO audit_auditcheckpoint (tree_size, root_hash, origin, key_name, verifier_key, demo_key, note,"
            " made_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows
        )  # fmt: skip


def latest_path():
    path = signing.key_path()
    return path.with_name(path.name + getattr(merkle, "LATEST_SUFFIX", ".latest"))


def test_more_junk_checkpoint_rows_than_one_scan_hide_no_trusted_checkpoint(demo, settings, tmp_path):
    """Follow-up of issue 27 item 2: 1000 junk rows with the head's tree size made latest_trusted() (which
    looked at 1000 rows) return None: /audit/checkpoint said no checkpoint was signed, proofs were gone."""
    genuine = AuditCheckpoint.objects.get()
    assert genuine.tree_size == AuditEvent.objects.count()
    plant_junk_checkpoints(1500)
    latest_path().unlink(missing_ok=True)  # no record beside the key (yet): every row is looked at
    response = Client().get(reverse("audit:checkpoint"))
    assert response.status_code == 200 and response.content.decode() == genuine.note
    assert latest_path().read_text().split()[0] == str(genuine.pk)  # found once, recorded beside the key
    assert merkle.covering(1).pk == genuine.pk  # inclusion proofs are served again
    # a server or witness without the key file (the published key only): the same, by looking at every row
    settings.AUDIT_VERIFIER_KEY = signing.load().verifier_key
    settings.AUDIT_SIGNING_KEY = str(tmp_path / "elsewhere.key")
    assert merkle.latest_trusted().pk == genuine.pk


def test_junk_rows_cost_one_signature_check_each_at_most_and_none_where_the_key_is(
    demo, monkeypatch, django_capture_on_commit_callbacks
):
    """The cost: with the newest checkpoint recorded beside the key (audit_checkpoint does it), junk rows ahead
    of it cost nothing; without it, each distinct note is checked once, and copies of one note cost no check."""
    make.category("later")
    with django_capture_on_commit_callbacks(execute=True):  # recorded when made, and once committed
        newest, made = merkle.make_checkpoint()
    assert made and latest_path().read_text().split()[0] == str(newest.pk)
    plant_junk_checkpoints(1200)
    checked = []
    original = signing.check_signed
    monkeypatch.setattr(signing, "check_signed", lambda note, keys=None: checked.append(1) or original(note, keys))
    assert merkle.latest_trusted().pk == newest.pk and len(checked) == 1
    checked.clear()
    latest_path().write_text(f"{newest.pk} {'0' * 64}\n")  # a record that does not fit the row: not taken
    assert merkle.latest_trusted().pk == newest.pk and len(checked) == 1201
    checked.clear()
    plant_junk_checkpoints(1200, copies=True)
    latest_path().unlink()
    assert merkle.latest_trusted().pk == newest.pk and len(checked) == 1202  # the 1200 copies: one check
    # a scan never puts an older checkpoint over a newer one recorded (signed, and committed since it began)
    latest_path().write_text(f"{newest.pk} {'0' * 64}\n")
    older = AuditCheckpoint.objects.filter(pk__lt=newest.pk).order_by("-pk").first()
    merkle.remember_latest(older, over_newer=False)
    assert latest_path().read_text().split()[0] == str(newest.pk)
    latest_path().write_text(f"{newest.pk + 10**6} {'0' * 64}\n")  # but over one never committed (rolled back)
    assert merkle.latest_trusted().pk == newest.pk
    assert latest_path().read_text().split()[0] == str(newest.pk)
